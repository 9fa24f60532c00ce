// A card bot built on the official Node SDK (@larksuiteoapi/node-sdk): card.action.trigger and url.preview.get
// handlers on an EventDispatcher, and a legacy CardActionHandler.
//   node callbacks.js webhook ENCRYPT_KEY VERIFICATION_TOKEN MODE   -> prints {"port": N}; /webhook/event, /card
//   node callbacks.js ws DOMAIN APP_ID APP_SECRET MODE              -> a WSClient on the platform
// MODE is what the click handler returns: toast | bad_toast | raw | template | empty | nothing.
// Prints one JSON line per callback a handler received: {"received": <data>, "type": <callback>}.
const http = require("http");
const lark = require("@larksuiteoapi/node-sdk");

const RAW_CARD = { schema: "2.0", body: { elements: [{ tag: "markdown", content: "**Approved**" }] } };
const TEMPLATE = { template_id: "AAqi6xJ8rabcd", template_version_name: "1.0.0", template_variable: { n: 1 } };

const [where, ...rest] = process.argv.slice(2);
const mode = rest[rest.length - 1];

function seen(type, data) {
  process.stdout.write(JSON.stringify({ received: data, type }) + "\n");
}

function answer(data) {
  const value = (data.action && data.action.value) || {};
  const title = String(value.action || "clicked");
  switch (mode) {
    case "toast": return { toast: { type: "success", content: title } };
    case "bad_toast": return { toast: { type: "ok", content: title } };
    case "raw": return { toast: { type: "info", content: title }, card: { type: "raw", data: RAW_CARD } };
    case "template": return { card: { type: "template", data: TEMPLATE } };
    case "empty": return {};
    default: return undefined;
  }
}

const handlers = {
  "card.action.trigger": async (data) => { seen("card.action.trigger", data); return answer(data); },
  "url.preview.get": async (data) => {
    seen("url.preview.get", data);
    return { inline: { title: "Preview of " + data.context.url } };
  },
};

if (where === "webhook") {
  const [encryptKey, verificationToken] = rest;
  const dispatcher = new lark.EventDispatcher({ encryptKey, verificationToken, loggerLevel: lark.LoggerLevel.fatal })
    .register(handlers);
  const cards = new lark.CardActionHandler({ encryptKey, verificationToken, loggerLevel: lark.LoggerLevel.fatal },
    async (data) => { seen("card.action.trigger_v1", data); return { toast: { type: "success", content: "Done" }, ...RAW_CARD }; });
  const server = http.createServer();
  server.on("request", lark.adaptDefault("/webhook/event", dispatcher, { autoChallenge: true }));
  server.on("request", lark.adaptDefault("/card", cards, { autoChallenge: true }));
  server.listen(0, "127.0.0.1", () => process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n"));
} else {
  const [domain, appId, appSecret] = rest;
  const dispatcher = new lark.EventDispatcher({ loggerLevel: lark.LoggerLevel.fatal }).register(handlers);
  const client = new lark.WSClient({ appId, appSecret, domain, loggerLevel: lark.LoggerLevel.fatal });
  client.start({ eventDispatcher: dispatcher });
  process.on("SIGTERM", () => { client.close({ force: true }); process.exit(0); });
}
