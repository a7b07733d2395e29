import type { CredentialsStatus } from "../../api/v1alpha1/index.ts";
import { isNewerVersion } from "../kube/object-cache.ts";
import { timestampOf } from "../kube/time.ts";
import type { KubeObject } from "../kube/types.ts";

// Key rotation on a schedule: how old the exchange credentials are, and whether spec.exchange.
// rotateCredentialsEvery says they are due. Pure.
//
// "Age" is the time since the Secret's data last changed, and creationTimestamp cannot say that (an
// update keeps it). The operator records in status.credentials the Secret's resourceVersion and when it
// first saw that version: the same version that restarts the bot's pod onto new credentials, so the clock
// starts again exactly when the bot is restarted on the new key. A version is no digest of the values, so
// nothing about them reaches status. A Secret the operator has no record of starts from its
// creationTimestamp: it may have changed since, so its age may be overstated — a reminder early, never
// one missed. A metadata-only change (labels, annotations) is a new version too and restarts the clock,
// as it restarts the pod.

/** What the metadata watch says of the exchange Secret; no request, no values. */
export interface ObservedSecret {
  namespace: string;
  name: string;
  resourceVersion: string;
  creationTimestamp: string | undefined;
}

/** The Secret's name, version and creation time, from its metadata as the watch caches it. */
export function observedSecret(meta: KubeObject | undefined): ObservedSecret | undefined {
  if (!meta) return undefined;
  return {
    namespace: meta.metadata.namespace ?? "",
    name: meta.metadata.name,
    resourceVersion: meta.metadata.resourceVersion ?? "",
    creationTimestamp: meta.metadata.creationTimestamp,
  };
}

/**
 * The record for the Secret as it is now: kept while its version is the recorded one (or older, from a
 * watch that lags the status another replica wrote), restarted at `now` for a new version, started from
 * the creationTimestamp for a Secret not on record. Unchanged while the Secret cannot be seen.
 */
export function credentialsRecord(
  previous: CredentialsStatus | undefined,
  secret: ObservedSecret | undefined,
  now: number,
): CredentialsStatus | undefined {
  if (!secret) return previous;
  if (previous?.secretName === secret.name) {
    if (!isNewerVersion(secret.resourceVersion, previous.secretResourceVersion)) return previous;
    return {
      secretName: secret.name,
      secretResourceVersion: secret.resourceVersion,
      since: timestampOf(now),
    };
  }
  const created = secret.creationTimestamp ? Date.parse(secret.creationTimestamp) : Number.NaN;
  return {
    secretName: secret.name,
    secretResourceVersion: secret.resourceVersion,
    since: timestampOf(Number.isNaN(created) ? now : Math.min(created, now)),
  };
}

/** How long the Secret has held its current data, and since when. */
export interface CredentialsAge {
  since: string;
  seconds: number;
}

/** The age of the Secret's data now; undefined while the Secret cannot be seen. */
export function credentialsAge(
  previous: CredentialsStatus | undefined,
  secret: ObservedSecret | undefined,
  now: number,
): CredentialsAge | undefined {
  const record = credentialsRecord(previous, secret, now);
  if (!secret || !record) return undefined;
  return { since: record.since, seconds: Math.max(0, (now - Date.parse(record.since)) / 1000) };
}

export interface RotationConditionValue {
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

export interface RotationDecision {
  condition: RotationConditionValue;
  /** How long until the condition turns True by the clock alone; undefined when True already, or unknown. */
  dueInMs: number | undefined;
}

/** The schedule as the spec writes it ("30d") and in seconds. */
export interface RotationSchedule {
  every: string;
  seconds: number;
}

/**
 * CredentialsRotationDue from the age and the schedule: True once the Secret's data is older than the
 * schedule. The message names the Secret (`secret`, namespace/name), when its data last changed and the
 * schedule, never a value; it holds no running count, so the status of an unchanged bot stays unchanged
 * (the live age is the metric tradingbot_credentials_age_seconds).
 */
export function rotationDecision(
  age: CredentialsAge | undefined,
  schedule: RotationSchedule,
  secret: string,
): RotationDecision {
  if (!age) {
    return {
      condition: {
        status: "Unknown",
        reason: "SecretNotFound",
        message: `Secret ${secret} cannot be seen, so the age of its data is unknown: see the CredentialsAvailable condition.`,
      },
      dueInMs: undefined,
    };
  }
  const dueAt = timestampOf(Date.parse(age.since) + schedule.seconds * 1000);
  const rule = `spec.exchange.rotateCredentialsEvery is ${schedule.every}`;
  if (age.seconds > schedule.seconds) {
    return {
      condition: {
        status: "True",
        reason: "SecretOlderThanSchedule",
        message:
          `Secret ${secret} has held its data since ${age.since}, longer than its schedule allows (${rule}; due ` +
          `since ${dueAt}): put a new key in it, then revoke the old one at the exchange.`,
      },
      dueInMs: undefined,
    };
  }
  return {
    condition: {
      status: "False",
      reason: "WithinSchedule",
      message: `Secret ${secret} has held its data since ${age.since}; ${rule}, so rotation is due at ${dueAt}.`,
    },
    dueInMs: (schedule.seconds - age.seconds) * 1000,
  };
}
