import { describe, expect, it } from "vitest";
import { type CredentialsAgeSample, createMetrics } from "./metrics.ts";

const noFleet = () => ({ botsByPhase: new Map(), haltedBySource: new Map() });

describe("the credentials gauges", () => {
  it("export each bot's credentials age and schedule as they are at the scrape, and drop a bot that is gone", async () => {
    let bots: CredentialsAgeSample[] = [
      { namespace: "trading", name: "grid", ageSeconds: 2_700_000, rotationPeriodSeconds: 2_592_000 },
      { namespace: "trading", name: "dca", ageSeconds: 60, rotationPeriodSeconds: undefined },
    ];
    const metrics = createMetrics(noFleet, undefined, () => bots);
    const first = await metrics.registry.metrics();
    expect(first).toContain('tradingbot_credentials_age_seconds{bot_namespace="trading",bot="grid"} 2700000');
    expect(first).toContain('tradingbot_credentials_age_seconds{bot_namespace="trading",bot="dca"} 60');
    expect(first).toContain(
      'tradingbot_credentials_rotation_period_seconds{bot_namespace="trading",bot="grid"} 2592000',
    );
    expect(first).not.toContain(
      'tradingbot_credentials_rotation_period_seconds{bot_namespace="trading",bot="dca"}',
    );

    bots = [{ namespace: "trading", name: "dca", ageSeconds: 75, rotationPeriodSeconds: undefined }];
    const second = await metrics.registry.metrics();
    expect(second).not.toContain('name="grid"');
    expect(second).toContain('tradingbot_credentials_age_seconds{bot_namespace="trading",bot="dca"} 75');
  });
});
