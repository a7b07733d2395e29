// The local control plane for tests, the demo and benchmarks: real etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler built from their Go modules, with KWOK playing the nodes, and
// optionally a real node (kubelet, containerd, runc, CNI, kube-proxy) running pods as containers.
export { binaryCacheDir, type ControlPlaneBinaries, locateBinaries } from "./binaries.ts";
export { kwokNodeAnnotation } from "./config-files.ts";
export {
  type ControlPlane,
  type EtcdConnection,
  type StartOptions,
  startControlPlane,
} from "./control-plane.ts";
export { readEtcdValue } from "./etcd-raw.ts";
export {
  cleanUpRealNode,
  importOciArchive,
  type RealNode,
  realNodeLabel,
  realNodeTaint,
  startControlPlaneWithRealNode,
} from "./real-node.ts";
