import {
  KILL_SWITCH_CHANGED_BY_ANNOTATION,
  type KillSwitchView,
  readKillSwitch,
} from "../../api/v1alpha1/index.ts";
import type { KillSwitchObject } from "../resources.ts";

// Cache objects are replaced, never mutated, on change: a KillSwitch is read once per object version.
const views = new WeakMap<object, KillSwitchView>();

/** A KillSwitch as a halt reads it (readKillSwitch: lenient, failing closed). */
export function killSwitchViewOf(object: KillSwitchObject): KillSwitchView {
  let view = views.get(object);
  if (view === undefined) {
    view = {
      ...readKillSwitch(object.metadata.name, object.spec),
      changedBy: object.metadata.annotations?.[KILL_SWITCH_CHANGED_BY_ANNOTATION],
    };
    views.set(object, view);
  }
  return view;
}
