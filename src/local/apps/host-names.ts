/**
 * Public host names: the gateway serves app `<app>` of org `<org>` at `<app>-<org>.<base-domain>`
 * and each further declared port at `<app>-<org>-<port>.<base-domain>`. Org and app names both hold
 * '-', so two apps can map to one name (`corp:greeter-acme` and `acme-corp:greeter` are both
 * `greeter-acme-corp`); the plane refuses an app whose names another app already holds. Apps of a
 * data dir written before that rule may still collide: the app created first keeps the name.
 *
 * The same names resolve to the gateway inside every app's network (issue 15): HostNames keeps a
 * hosts file (`<label>.<base-domain>` -> 127.0.0.1, where the gateway answers inside the app's
 * network namespace, drivers/app-network.ts) that the drivers put at the app's /etc/hosts. It is
 * rewritten in place (same inode) whenever an app is created, deleted or changes its ports, so a
 * bind mount of it, taken when an instance started, shows the current names.
 */
import { promises as fsp } from "node:fs";
import type { AppMeta } from "../../gen/dodil/ignite/v1/common_pb.js";
import { alreadyExists, invalidArgument } from "../errors.js";
import type { Store } from "../store/store.js";
import { isValidName } from "../ids.js";
import { KeyedMutex } from "../keyed-mutex.js";

/** The DNS label rule for app names, as the error states it. */
const APP_NAME_RULE = "use 1-63 lowercase letters, digits and '-', starting with a letter, not ending with '-' and without '--' (a DNS label)";
const APP_NAME_RE = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Refuses a new app's name when it is not a DNS label (apps created before keep the names they had). */
export function checkNewAppName(app: string): void {
  if (!app) throw invalidArgument("app name is required");
  if (!APP_NAME_RE.test(app) || app.includes("--")) throw invalidArgument(`invalid app name '${app}': ${APP_NAME_RULE}`);
}

/** The host label of an app's main port. */
export function hostLabel(org: string, app: string): string {
  return `${app.replace(/\./g, "-dot-")}-${org}`;
}

/** Every host label an app answers at: the main one, then one per further declared port. */
export function hostLabels(org: string, app: string, ports: readonly number[]): string[] {
  const main = hostLabel(org, app);
  return [main, ...ports.slice(1).map((p) => `${main}-${p}`)];
}

export interface HostTarget {
  org: string;
  app: string;
  /** A further declared port the label names. */
  port?: number;
}

export class HostNames {
  /** Claims are checked and written one at a time, so two creates cannot take one name together. */
  private readonly claims = new KeyedMutex();

  /** Hosts-file writes one at a time, the last one holding every current name. */
  private readonly hostsWrites = new KeyedMutex();

  /** `hostsFile`: where the apps' hosts file is kept; absent: none. */
  constructor(
    private readonly store: Store,
    private readonly baseDomain: string,
    private readonly hostsFile?: string,
  ) {}

  /**
   * Runs `write` (which creates the app or changes its ports) unless another app already holds one of
   * the labels `org/app` would answer at with `ports`: AlreadyExists naming the app that holds it.
   */
  async claim<T>(org: string, app: string, ports: readonly number[], write: () => Promise<T>): Promise<T> {
    return this.claims.run("claims", async () => {
      const wanted = new Set(hostLabels(org, app, ports));
      for (const other of await this.apps()) {
        if (other.organizationName === org && other.name === app) continue;
        const held = hostLabels(other.organizationName, other.name, other.ports).find((l) => wanted.has(l));
        if (held) {
          throw alreadyExists(`the public host name ${held}.${this.baseDomain} of app ${org}:${app} is already held by app ${other.organizationName}:${other.name}; choose another app name`);
        }
      }
      const written = await write();
      await this.writeHostsFile();
      return written;
    });
  }

  /**
   * Writes the hosts file from the apps of the data dir (at start-up, after a claim and when an app
   * is deleted). In place, not by rename: a rename would leave running instances the old inode.
   */
  async writeHostsFile(): Promise<void> {
    const file = this.hostsFile;
    if (!file) return;
    await this.hostsWrites.run("hosts", async () => {
      const names = (await this.apps()).flatMap((m) => hostLabels(m.organizationName, m.name, m.ports)).map((l) => `${l}.${this.baseDomain}`);
      const lines = [
        "# The public host names the dodil ignite local control plane serves: its gateway, at 127.0.0.1 here.",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        ...[...new Set(names)].sort().map((n) => `127.0.0.1\t${n}`),
        "",
      ];
      await fsp.writeFile(file, lines.join("\n"), { mode: 0o644 });
      await fsp.chmod(file, 0o644);
    });
  }

  /** The app a host label names, or undefined; when legacy apps collide, the one created first. */
  async resolve(label: string): Promise<HostTarget | undefined> {
    const decoded = label.replace(/-dot-/g, ".");
    const found: Array<HostTarget & { createdAtMs: bigint; declared: boolean }> = [];
    for (const org of await this.store.listOrgs()) {
      const m = new RegExp(`^(.+)-${org.replace(/-/g, "\\-")}(?:-(\\d{1,5}))?$`).exec(decoded);
      if (!m || !isValidName(m[1]!)) continue;
      const meta = await this.store.getApp(org, m[1]!);
      if (!meta) continue;
      const port = m[2] ? Number(m[2]) : undefined;
      found.push({ org, app: m[1]!, ...(port !== undefined ? { port } : {}), createdAtMs: meta.createdAtMs, declared: port === undefined || meta.ports.slice(1).includes(port) });
    }
    // an app that holds the label wins over a parse that names an undeclared port
    found.sort((a, b) => Number(b.declared) - Number(a.declared) || (a.createdAtMs < b.createdAtMs ? -1 : a.createdAtMs > b.createdAtMs ? 1 : 0));
    const best = found[0];
    return best && { org: best.org, app: best.app, ...(best.port !== undefined ? { port: best.port } : {}) };
  }

  /** One line per host label that several apps of the data dir hold (for the start-up log). */
  async collisions(): Promise<string[]> {
    const holders = new Map<string, AppMeta[]>();
    for (const meta of await this.apps()) {
      for (const l of hostLabels(meta.organizationName, meta.name, meta.ports)) holders.set(l, [...(holders.get(l) ?? []), meta]);
    }
    const lines: string[] = [];
    for (const [label, apps] of holders) {
      if (apps.length < 2) continue;
      apps.sort((a, b) => (a.createdAtMs < b.createdAtMs ? -1 : a.createdAtMs > b.createdAtMs ? 1 : 0));
      const [first, ...rest] = apps.map((a) => `${a.organizationName}:${a.name}`);
      lines.push(`[Warning] apps ${[first, ...rest].join(", ")} share the public host name ${label}.${this.baseDomain}; the gateway serves ${first} (created first): rename ${rest.join(", ")}`);
    }
    return lines;
  }

  private async apps(): Promise<AppMeta[]> {
    const out: AppMeta[] = [];
    for (const org of await this.store.listOrgs()) {
      for (const app of await this.store.listApps(org)) {
        const meta = await this.store.getApp(org, app);
        if (meta) out.push(meta);
      }
    }
    return out;
  }
}
