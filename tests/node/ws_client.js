// A long-connection client built on the official Node SDK (@larksuiteoapi/node-sdk): WSClient + EventDispatcher.
// Usage: node ws_client.js DOMAIN APP_ID APP_SECRET. Prints one JSON line per event its typed handler received.
const lark = require("@larksuiteoapi/node-sdk");

const [domain, appId, appSecret] = process.argv.slice(2);
const dispatcher = new lark.EventDispatcher({ loggerLevel: lark.LoggerLevel.fatal }).register({
  "vc.meeting.share_ended_v1": async (data) => {
    process.stdout.write(JSON.stringify({ received: data }) + "\n");
  },
});
const client = new lark.WSClient({ appId, appSecret, domain, loggerLevel: lark.LoggerLevel.fatal });
client.start({ eventDispatcher: dispatcher });
process.on("SIGTERM", () => { client.close({ force: true }); process.exit(0); });
