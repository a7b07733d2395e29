import { GROUP } from "../v1alpha1/index.ts";

// The building blocks every object of api/access/ is made of: the shape, a resource rule of this
// project's group, a policy's binding, and the CEL test for a changed field.

/** A cluster-level object as api/access/ builds it. */
export interface AccessObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export const ADMISSION = "admissionregistration.k8s.io/v1";

/** An admission policy's resource rule for this project's kinds, at every version. */
export const resourceRule = (resources: string[], operations: string[]) => ({
  apiGroups: [GROUP],
  apiVersions: ["*"],
  operations,
  resources,
});

/** The binding of the admission policy `policyName`, with its own settings. */
export function binding(policyName: string, kind: string, spec: Record<string, unknown>): AccessObject {
  return { apiVersion: ADMISSION, kind, metadata: { name: policyName }, spec: { policyName, ...spec } };
}

/** CEL: whether `path` (below object/oldObject, such as spec.strategy) differs between the old and new object. */
export function changed(path: string): string {
  const [parent, field] = [path.slice(0, path.lastIndexOf(".")), path.slice(path.lastIndexOf(".") + 1)];
  return (
    `(has(object.${parent}.${field}) != has(oldObject.${parent}.${field}) || ` +
    `(has(object.${parent}.${field}) && object.${parent}.${field} != oldObject.${parent}.${field}))`
  );
}
