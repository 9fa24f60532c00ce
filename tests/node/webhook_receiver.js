// A webhook receiver built on the official Node SDK (@larksuiteoapi/node-sdk): EventDispatcher + adaptDefault.
// Prints {"port": N} once listening, then one JSON line per event its typed handler received.
const http = require("http");
const lark = require("@larksuiteoapi/node-sdk");

const [encryptKey, verificationToken] = process.argv.slice(2);
const dispatcher = new lark.EventDispatcher({ encryptKey, verificationToken, loggerLevel: lark.LoggerLevel.fatal }).register({
  "vc.meeting.share_ended_v1": async (data) => {
    process.stdout.write(JSON.stringify({ received: data }) + "\n");
    return "ok";
  },
});
const server = http.createServer();
server.on("request", lark.adaptDefault("/webhook/event", dispatcher, { autoChallenge: true }));
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
