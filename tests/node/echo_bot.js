// The echo bot sample's behaviour on the official Node SDK (@larksuiteoapi/node-sdk): WSClient + EventDispatcher
// receive im.message.receive_v1; a text is echoed back, in a p2p chat as a new message (client.im.message.create),
// in a group as a reply (client.im.message.reply), in the thread when the message was in one.
// Usage: node echo_bot.js DOMAIN APP_ID APP_SECRET. Prints one JSON line per answer: {"ok": data} or
// {"error": {status, code, msg}} (axios throws on the platform's 4xx).
const lark = require("@larksuiteoapi/node-sdk");

const [domain, appId, appSecret] = process.argv.slice(2);
const client = new lark.Client({ appId, appSecret, domain, loggerLevel: lark.LoggerLevel.fatal });

async function answer(message) {
  const text = message.message_type === "text" ? JSON.parse(message.content).text : "(not text)";
  const content = JSON.stringify({ text: `收到你发送的消息：${text}\nReceived message: ${text}` });
  try {
    const res = message.chat_type === "p2p"
      ? await client.im.message.create({
        params: { receive_id_type: "chat_id" },
        data: { receive_id: message.chat_id, msg_type: "text", content },
      })
      : await client.im.message.reply({
        path: { message_id: message.message_id },
        data: { msg_type: "text", content, reply_in_thread: Boolean(message.thread_id) },
      });
    process.stdout.write(JSON.stringify({ ok: res.data }) + "\n");
  } catch (e) {
    const r = e.response || {};
    process.stdout.write(JSON.stringify({ error: { status: r.status, code: r.data && r.data.code,
                                                   msg: r.data && r.data.msg } }) + "\n");
  }
}

const dispatcher = new lark.EventDispatcher({ loggerLevel: lark.LoggerLevel.fatal }).register({
  "im.message.receive_v1": async (data) => { await answer(data.message); },
});
const ws = new lark.WSClient({ appId, appSecret, domain, loggerLevel: lark.LoggerLevel.fatal });
ws.start({ eventDispatcher: dispatcher });
process.on("SIGTERM", () => { ws.close({ force: true }); process.exit(0); });
