// The local node agent: runs the pods bound to its Node as local processes (see README.md).
export { defaultImageCommands, type NodeAgent, type NodeAgentOptions, startNodeAgent } from "./agent.ts";
export type { ImageCommands } from "./image-commands.ts";
export {
  LOCAL_AGENT_LABEL,
  LOCAL_AGENT_TAINT,
  localAgentPlacement,
} from "./node-registration.ts";
export { DEFAULT_POD_CIDR, HOST_IP } from "./pod-addresses.ts";
