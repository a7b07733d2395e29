// The local control plane for tests, the demo and benchmarks: real etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler built from their Go modules, with KWOK playing the nodes.
export { binaryCacheDir, type ControlPlaneBinaries, locateBinaries } from "./binaries.ts";
export { kwokNodeAnnotation } from "./config-files.ts";
export {
  type ControlPlane,
  type EtcdConnection,
  type StartOptions,
  startControlPlane,
} from "./control-plane.ts";
export { readEtcdValue } from "./etcd-raw.ts";
