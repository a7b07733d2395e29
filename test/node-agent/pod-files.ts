import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { PlannedVolume } from "./volume-plan.ts";

// The agent's state folder:
//   pods/<uid>/volumes/<volume>/...            materialised volumes
//   pods/<uid>/containers/<name>/termination-log, process.json
//   logs/<namespace>_<name>_<uid>/<container>/<restartCount>.log   kept after the pod is gone, for post-mortems

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export class PodFiles {
  readonly stateDir: string;

  constructor(stateDir: string) {
    this.stateDir = stateDir;
    mkdirSync(join(stateDir, "pods"), { recursive: true, mode: 0o700 });
    mkdirSync(join(stateDir, "logs"), { recursive: true, mode: 0o700 });
  }

  podDir(uid: string): string {
    return join(this.stateDir, "pods", uid);
  }

  volumeDir(uid: string, volume: string): string {
    return join(this.podDir(uid), "volumes", volume);
  }

  containerDir(uid: string, container: string): string {
    return join(this.podDir(uid), "containers", container);
  }

  terminationMessageFile(uid: string, container: string): string {
    return join(this.containerDir(uid, container), "termination-log");
  }

  processRecordFile(uid: string, container: string): string {
    return join(this.containerDir(uid, container), "process.json");
  }

  logDir(pod: PodRef): string {
    return join(this.stateDir, "logs", `${pod.namespace}_${pod.name}_${pod.uid}`);
  }

  logFile(pod: PodRef, container: string, restartCount: number): string {
    return join(this.logDir(pod), container, `${restartCount}.log`);
  }

  /** UIDs of every pod folder, including those of pods the agent no longer knows. */
  podUIDs(): string[] {
    return readdirSync(join(this.stateDir, "pods"));
  }

  /** Process records left in a pod folder (one per container that ran). */
  processRecordFiles(uid: string): string[] {
    const containers = join(this.podDir(uid), "containers");
    if (!existsSync(containers)) return [];
    return readdirSync(containers)
      .map((name) => join(containers, name, "process.json"))
      .filter((path) => existsSync(path));
  }

  /**
   * Writes a fresh pod folder: every planned volume (read-only volumes get their file modes and a
   * read-only folder) and one folder per container. Returns the host folder of each volume.
   */
  materialise(
    uid: string,
    volumes: readonly PlannedVolume[],
    containerNames: readonly string[],
  ): Map<string, string> {
    this.remove(uid);
    const dirs = new Map<string, string>();
    for (const volume of volumes) {
      const dir = this.volumeDir(uid, volume.name);
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      for (const file of volume.files) {
        const path = join(dir, file.path);
        mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
        writeFileSync(path, file.content, { mode: file.mode });
        // writeFileSync's mode is filtered by the umask; the volume's mode is not.
        chmodSync(path, file.mode);
      }
      if (volume.writable) chmodSync(dir, 0o777);
      else setReadOnly(dir);
      dirs.set(volume.name, dir);
    }
    for (const name of containerNames)
      mkdirSync(this.containerDir(uid, name), { recursive: true, mode: 0o700 });
    return dirs;
  }

  /** A new, empty, writable termination-message file for the next run of a container. */
  resetTerminationMessage(uid: string, container: string): string {
    const path = this.terminationMessageFile(uid, container);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, "", { mode: 0o666 });
    return path;
  }

  /** Removes the pod folder (logs stay). */
  remove(uid: string): void {
    const dir = this.podDir(uid);
    if (!existsSync(dir)) return;
    setWritable(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

function walkDirs(dir: string, visit: (dir: string) => void, order: "pre" | "post"): void {
  if (order === "pre") visit(dir);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) walkDirs(join(dir, entry.name), visit, order);
  }
  if (order === "post") visit(dir);
}

/** Folders of a read-only volume: r-x, so a non-root agent's processes cannot change them either. */
function setReadOnly(dir: string): void {
  walkDirs(dir, (d) => chmodSync(d, 0o555), "post");
}

/** Undoes setReadOnly so the folder can be removed by a non-root agent. */
function setWritable(dir: string): void {
  walkDirs(
    dir,
    (d) => {
      if ((statSync(d).mode & 0o700) !== 0o700) chmodSync(d, 0o700);
    },
    "pre",
  );
}
