import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../core/log.ts";
import { freshDb, postgresAvailable } from "../../test/helpers/services.ts";
import { cloudConfigSchema } from "../config.ts";
import { liveMembers, Membership, Ownership, ownerOf } from "./affinity.ts";

const devices = Array.from({ length: 6000 }, (_, i) => `barn-${i}`);
const owners = (members: string[]) => new Map(devices.map((d) => [d, ownerOf(d, members)]));
const count = (m: Map<string, string | undefined>, who: string) =>
  [...m.values()].filter((o) => o === who).length;

describe("ownerOf (rendezvous hashing)", () => {
  it("is stable: the same members in any order give the same owner", () => {
    const a = owners(["cloud-1", "cloud-2", "cloud-3"]);
    const b = owners(["cloud-3", "cloud-1", "cloud-2"]);
    expect(a).toEqual(b);
    expect(ownerOf("barn-1", [])).toBeUndefined();
    expect(ownerOf("barn-1", ["solo"])).toBe("solo");
    // Known values: the hash must not change between versions (instances of two versions must agree).
    expect(devices.slice(0, 6).map((d) => ownerOf(d, ["cloud-1", "cloud-2"]))).toEqual([
      "cloud-1",
      "cloud-2",
      "cloud-2",
      "cloud-2",
      "cloud-2",
      "cloud-1",
    ]);
  });

  it("is balanced: each of n members owns about 1/n of the devices", () => {
    for (const n of [2, 3, 4, 8]) {
      const members = Array.from({ length: n }, (_, i) => `cloud-${i + 1}`);
      const m = owners(members);
      for (const who of members) {
        const share = count(m, who) / devices.length;
        expect(share, `${who} of ${n}`).toBeGreaterThan((1 / n) * 0.85);
        expect(share, `${who} of ${n}`).toBeLessThan((1 / n) * 1.15);
      }
    }
  });

  it("moves only what it must: a joining member takes ~1/(n+1), all from others; a leaving one gives away only its own", () => {
    const before = owners(["cloud-1", "cloud-2", "cloud-3"]);
    const after = owners(["cloud-1", "cloud-2", "cloud-3", "cloud-4"]);
    let moved = 0;
    for (const d of devices) {
      if (before.get(d) === after.get(d)) continue;
      moved++;
      expect(after.get(d), d).toBe("cloud-4");
    }
    expect(moved / devices.length).toBeGreaterThan(0.25 * 0.85);
    expect(moved / devices.length).toBeLessThan(0.25 * 1.15);
    const left = owners(["cloud-1", "cloud-3"]);
    for (const d of devices) {
      if (before.get(d) !== "cloud-2") expect(left.get(d), d).toBe(before.get(d));
      else expect(["cloud-1", "cloud-3"]).toContain(left.get(d));
    }
  });

  it("Ownership equals ownerOf over its view, and recomputes when the view changes", () => {
    const o = new Ownership("cloud-2");
    expect(devices.every((d) => o.owns(d))).toBe(true); // alone: everything
    expect(o.set(["cloud-1", "cloud-2"])).toBe(true);
    expect(o.set(["cloud-2", "cloud-1"])).toBe(false);
    for (const d of devices) expect(o.owns(d)).toBe(ownerOf(d, ["cloud-1", "cloud-2"]) === "cloud-2");
    o.set(["cloud-1"]); // self is always a member
    expect(o.view).toEqual(["cloud-1", "cloud-2"]);
    o.set(["cloud-2", "cloud-3"]);
    for (const d of devices) expect(o.owns(d)).toBe(ownerOf(d, ["cloud-2", "cloud-3"]) === "cloud-2");
  });
});

describe("ingest.routing in the config", () => {
  const pg = { url: "postgres://barnlink@db/barnlink" };
  const parse = (c: object) => cloudConfigSchema.safeParse(c);
  it("defaults to broker routing, unchanged", () => {
    expect(cloudConfigSchema.parse({}).ingest).toMatchObject({
      routing: "broker",
      heartbeat: 3000,
      liveness: 15_000,
    });
  });
  it("takes affine on PostgreSQL over MQTT without a shared group", () => {
    expect(parse({ database: pg, ingest: { routing: "affine" } }).success).toBe(true);
  });
  it("refuses affine on SQLite, over AMQP, with mqtt.sharedGroup, or with a window under two heartbeats", () => {
    const bad = [
      { ingest: { routing: "affine" } },
      { database: pg, ingest: { routing: "affine", transport: "amqp" }, amqp: { urls: ["amqp://x"] } },
      { database: pg, ingest: { routing: "affine" }, mqtt: { sharedGroup: "g" } },
      { database: pg, ingest: { routing: "affine", heartbeat: "10s", liveness: "15s" } },
    ];
    for (const c of bad) expect(parse(c).success, JSON.stringify(c)).toBe(false);
  });
});

describe("liveMembers", () => {
  it("keeps heartbeats within the window, always self, sorted", () => {
    const rows = [
      { instance: "b", heartbeat_at: 1000 },
      { instance: "a", heartbeat_at: 10_000 },
      { instance: "c", heartbeat_at: 20_000 },
    ];
    expect(liveMembers(rows, "c", 25_000, 15_000)).toEqual(["a", "c"]);
    expect(liveMembers(rows, "z", 40_000, 15_000)).toEqual(["z"]);
    expect(liveMembers(rows, "c", 16_000, 15_000)).toEqual(["a", "b", "c"]);
  });
});

for (const dialect of ["sqlite", "postgres"] as const) {
  describe(`Membership on ${dialect} (injected clock)`, async () => {
    const available = dialect === "sqlite" || (await postgresAvailable());
    const fresh = available ? await freshDb(dialect) : undefined;
    afterAll(() => fresh?.drop());
    it.runIf(available)(
      "a member that stops heartbeating expires after the window; a clean stop leaves at once",
      async () => {
        let t = 1_000_000;
        const now = () => t;
        const mk = (instance: string) =>
          new Membership(fresh!.db, {
            instance,
            heartbeatMs: 60_000,
            livenessMs: 15_000,
            now,
            log: silentLogger,
          });
        const a = mk("a");
        const b = mk("b");
        const c = mk("c");
        await a.start();
        await b.start();
        await c.start();
        await a.beat();
        expect(a.ownership.view).toEqual(["a", "b", "c"]);
        // b goes silent (a SIGKILL): still live within the window, gone after it.
        t += 10_000;
        await a.beat();
        await c.beat();
        t += 5_000;
        await a.beat();
        expect(a.ownership.view).toEqual(["a", "b", "c"]);
        t += 1;
        await a.beat();
        await c.beat();
        expect(a.ownership.view).toEqual(["a", "c"]);
        expect(c.ownership.view).toEqual(["a", "c"]);
        for (const d of devices.slice(0, 500)) expect(a.owns(d) !== c.owns(d), d).toBe(true);
        // b comes back (a restart): its first heartbeat makes it live again.
        await b.start();
        await a.beat();
        expect(a.ownership.view).toEqual(["a", "b", "c"]);
        // c stops cleanly: its row is gone at once.
        await c.stop();
        await a.beat();
        expect(a.ownership.view).toEqual(["a", "b"]);
        const rows = await fresh!.db.kysely.selectFrom("ingest_members").select("instance").execute();
        expect(rows.map((r) => r.instance).sort()).toEqual(["a", "b"]);
        await a.stop();
        await b.stop();
      },
    );
  });
}
