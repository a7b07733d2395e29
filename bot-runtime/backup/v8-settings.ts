import { setFlagsFromString } from "node:v8";

// The trading runtime turns V8's optimising compilers off (bot-runtime/v8-settings.ts): a bot waits on the
// network. A backup or a restore is the opposite, bound by age's ciphers, which are JavaScript: without
// those compilers they run at about 4 MiB/s, with them at about 100. Imported first by the backup and
// restore commands, before age is loaded; code compiled from then on may be optimised again.
for (const flag of ["--turbofan", "--maglev"]) setFlagsFromString(flag);
