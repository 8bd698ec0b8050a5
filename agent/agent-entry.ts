// The process entry of the gateway alone (`npm run build` → dist/barnlink-agent.mjs, what the agent's
// systemd unit runs): the commands an installer uses on a barn gateway, none that runs cloud code.
import { main } from "./cli.ts";
import { gatewayCommands } from "./commands/gateway.ts";

const code = await main(process.argv.slice(2), gatewayCommands);
process.exitCode = code;
// A command that has returned is done: a handle left open somewhere must not keep the process alive.
setTimeout(() => process.exit(code), 3000).unref();
