// A webhook receiver built on the official Node SDK (@larksuiteoapi/node-sdk): EventDispatcher + adaptDefault.
// Usage: node webhook_receiver.js ENCRYPT_KEY TOKEN [EVENT_TYPE,EVENT_TYPE...] (default vc.meeting.share_ended_v1).
// Prints {"port": N} once listening, then one JSON line per event its typed handler received.
const http = require("http");
const lark = require("@larksuiteoapi/node-sdk");

const [encryptKey, verificationToken, types] = process.argv.slice(2);
const handlers = {};
for (const eventType of (types || "vc.meeting.share_ended_v1").split(",")) {
  handlers[eventType] = async (data) => {
    process.stdout.write(JSON.stringify({ received: data }) + "\n");
    return "ok";
  };
}
const dispatcher = new lark.EventDispatcher({ encryptKey, verificationToken, loggerLevel: lark.LoggerLevel.fatal }).register(handlers);
const server = http.createServer();
server.on("request", lark.adaptDefault("/webhook/event", dispatcher, { autoChallenge: true }));
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
