// A long-connection client built on the official Node SDK (@larksuiteoapi/node-sdk): WSClient + EventDispatcher.
// Usage: node ws_client.js DOMAIN APP_ID APP_SECRET [LOG_LEVEL]. Prints one JSON line per event its typed handler
// received and, with LOG_LEVEL (error, warn, info, debug, trace), one {"log": level, "msg": text} line per message
// the SDK logs at that level or above (default: nothing is logged).
const lark = require("@larksuiteoapi/node-sdk");

const [domain, appId, appSecret, logLevel] = process.argv.slice(2);
const dispatcher = new lark.EventDispatcher({ loggerLevel: lark.LoggerLevel.fatal }).register({
  "vc.meeting.share_ended_v1": async (data) => {
    process.stdout.write(JSON.stringify({ received: data }) + "\n");
  },
});
const line = (level) => (...msg) => {
  const text = msg.map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ");
  process.stdout.write(JSON.stringify({ log: level, msg: text }) + "\n");
};
const logger = { error: line("error"), warn: line("warn"), info: line("info"), debug: line("debug"),
  trace: line("trace") };
const client = new lark.WSClient({
  appId, appSecret, domain, logger,
  loggerLevel: logLevel ? lark.LoggerLevel[logLevel] : lark.LoggerLevel.fatal,
});
client.start({ eventDispatcher: dispatcher });
process.on("SIGTERM", () => { client.close({ force: true }); process.exit(0); });
