import { setFlagsFromString } from "node:v8";

// Imported first by main.ts, before any other module is evaluated. A bot waits on the network between
// ticks, so V8's optimising compilers (Maglev, Turbofan) only cost it memory: their code pages in the node
// binary, their working memory, the code they make. The other two flags keep the heap near what it holds
// (a smaller growth factor) and the garbage collector off background threads. Node does not accept these
// flags in NODE_OPTIONS, so the runtime sets them itself: the pod, the node agent and the benchmark all
// run with them. docs/runtime.md ("Memory") has the measurements.
const RUNTIME_V8_FLAGS = ["--no-opt", "--no-maglev", "--optimize-for-size", "--single-threaded-gc"];

for (const flag of RUNTIME_V8_FLAGS) setFlagsFromString(flag);
