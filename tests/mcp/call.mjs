// A real MCP client (the official SDK, Streamable HTTP) inside a bottle:
//   node call.mjs ask_human QUESTION
//   node call.mjs request_access HOST REASON
// Prints the tools the server offers, then the call's result.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [tool, ...rest] = process.argv.slice(2);
const client = new Client({ name: "bottlefs-test", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(process.env.MCP_SUPERVISE_URL)));
console.log("protocol:", client.transport.protocolVersion ?? "-");
const { tools } = await client.listTools();
console.log("tools:", tools.map((t) => t.name).sort().join(","));
const args = tool === "ask_human" ? { question: rest[0] } : { host: rest[0], reason: rest[1] };
const result = await client.callTool({ name: tool, arguments: args }, undefined, { timeout: 600000 });
console.log("isError:", Boolean(result.isError));
console.log("text:", result.content[0].text);
await client.close();
