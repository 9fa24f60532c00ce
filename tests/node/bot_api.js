// The official Node SDK's API client (@larksuiteoapi/node-sdk Client) against the platform's OpenAPI.
// Usage: node bot_api.js DOMAIN APP_ID APP_SECRET MESSAGE_ID. Replies in thread to MESSAGE_ID, then replies to a
// message that does not exist; prints one JSON line per call: {"ok": data} or {"error": {status, code, msg}}.
const lark = require("@larksuiteoapi/node-sdk");

const [domain, appId, appSecret, messageId] = process.argv.slice(2);
const client = new lark.Client({ appId, appSecret, domain, loggerLevel: lark.LoggerLevel.fatal });

async function reply(id, text) {
  try {
    const res = await client.im.message.reply({
      path: { message_id: id },
      data: { msg_type: "text", content: JSON.stringify({ text }), reply_in_thread: true },
    });
    process.stdout.write(JSON.stringify({ ok: res.data, code: res.code }) + "\n");
  } catch (e) {
    const r = e.response || {};
    process.stdout.write(JSON.stringify({ error: { status: r.status, code: r.data && r.data.code,
                                                   msg: r.data && r.data.msg } }) + "\n");
  }
}

(async () => {
  await reply(messageId, "hello from node");
  await reply("om_00000000000000000000000000000000", "nobody hears this");
})();
