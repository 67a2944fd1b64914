/**
 * Apps of an organization: create, list, configure, delete, and how callers see one (live
 * deployment state, public URLs, org id). gRPC handlers and the gateway authenticate, then call
 * these with the caller's organization.
 */
import { clone, create } from "@bufbuild/protobuf";
import { AppMetaSchema, DeploymentState, ResourceLimitsSchema, ResourceTier, ScalingConfigSchema, type AppMeta } from "../../gen/dodil/ignite/v1/common_pb.js";
import { AppSummarySchema, type AppSummary, type CreateAppRequest, type UpdateAppConfigRequest } from "../../gen/dodil/ignite/v1/compute_pb.js";
import { checkNewAppName, hostLabels, type HostTarget } from "./host-names.js";
import { alreadyExists, notFound } from "../errors.js";
import { checkAppName, organizationId } from "../ids.js";
import type { Platform, RoomDeps } from "./platform.js";
import { invalidArgument } from "../errors.js";
import type { ResourceLimits } from "../../gen/dodil/ignite/v1/common_pb.js";

export const TIER_LIMITS: Record<number, { memoryMb: number; cpuMillicores: number }> = {
  [ResourceTier.SMALL]: { memoryMb: 256, cpuMillicores: 250 },
  [ResourceTier.MEDIUM]: { memoryMb: 512, cpuMillicores: 500 },
  [ResourceTier.LARGE]: { memoryMb: 1024, cpuMillicores: 1000 },
  [ResourceTier.XLARGE]: { memoryMb: 2048, cpuMillicores: 2000 },
};
export const DEFAULT_TIMEOUT_SECS = 300;
export const DEFAULT_PORT = 8080;

function limitsFor(tier: ResourceTier, override?: ResourceLimits): ResourceLimits {
  const t = TIER_LIMITS[tier] ?? TIER_LIMITS[ResourceTier.SMALL]!;
  return create(ResourceLimitsSchema, {
    memoryMb: override?.memoryMb || t.memoryMb,
    cpuMillicores: override?.cpuMillicores || t.cpuMillicores,
    timeoutSecs: override?.timeoutSecs || DEFAULT_TIMEOUT_SECS,
  });
}

function checkPorts(ports: number[]): void {
  for (const p of ports) if (p < 1 || p > 65535) throw invalidArgument(`invalid port ${p}: use 1-65535`);
}

function checkHealthPath(p: string): void {
  if (p && !p.startsWith("/")) throw invalidArgument(`health_path '${p}' must start with '/'`);
}

export class Apps {
  constructor(
    private readonly d: RoomDeps,
    private readonly p: Platform,
  ) {}

  publicUrls(meta: AppMeta): string[] {
    if (!meta.activeVersion) return [];
    const port = this.d.gatewayPort();
    const scheme = this.d.gatewayScheme ?? "http";
    return hostLabels(meta.organizationName, meta.name, meta.ports).map((l) => `${scheme}://${l}.${this.d.baseDomain}:${port}`);
  }

  /** AppMeta as callers see it: live deployment state, URLs, org id. */
  present(meta: AppMeta): AppMeta {
    const m = clone(AppMetaSchema, meta);
    m.organizationId = organizationId(m.organizationName);
    m.publicUrls = this.publicUrls(m);
    m.imageRef = this.d.resolveImageRef(m.imageRef);
    if (m.activeVersion) {
      const slot = this.d.runtime.running(m.id);
      m.deploymentState = slot ? DeploymentState.ACTIVE : DeploymentState.SCALED_TO_ZERO;
    }
    return m;
  }

  summary(meta: AppMeta): AppSummary {
    const m = this.present(meta);
    return create(AppSummarySchema, {
      id: m.id,
      name: m.name,
      description: m.description,
      deploymentState: m.deploymentState,
      activeVersion: m.activeVersion,
      codeKind: m.codeKind,
      resourceTier: m.resourceTier,
      updatedAtMs: m.updatedAtMs,
      publicUrls: m.publicUrls,
    });
  }

  async requireApp(org: string, app: string): Promise<AppMeta> {
    checkAppName(app);
    const meta = await this.d.store.getApp(org, app);
    if (!meta) throw notFound(`app ${org}/${app} not found`);
    return meta;
  }

  async createApp(org: string, req: CreateAppRequest): Promise<AppMeta> {
    checkNewAppName(req.name);
    checkPorts(req.ports);
    checkHealthPath(req.healthPath);
    const key = `${org}/${req.name}`;
    const meta = await this.d.hostNames.claim(org, req.name, req.ports, () => this.d.appLocks.run(key, async () => {
      if (await this.d.store.getApp(org, req.name)) throw alreadyExists(`app ${key} already exists`);
      const tier = req.resourceTier || ResourceTier.SMALL;
      const now = BigInt(Date.now());
      const meta = create(AppMetaSchema, {
        id: key,
        name: req.name,
        organizationName: org,
        organizationId: organizationId(org),
        description: req.description,
        resourceTier: tier,
        limits: limitsFor(tier, req.limits),
        env: req.env,
        scaling: req.scaling ?? create(ScalingConfigSchema, { reservedCapacity: 0, maxReplicas: 1 }),
        storageMode: req.storageMode,
        ttlSeconds: req.ttlSeconds,
        ports: req.ports,
        healthPath: req.healthPath,
        mcpEnabled: req.mcpEnabled,
        inputSchema: req.inputSchema,
        outputSchema: req.outputSchema,
        allowUnauthenticated: req.allowUnauthenticated,
        maxConcurrency: req.maxConcurrency,
        deploymentState: DeploymentState.CREATED,
        createdAtMs: now,
        updatedAtMs: now,
        ...(req.runtime ? { runtime: req.runtime } : {}),
      });
      await this.d.store.putApp(meta);
      return meta;
    }));
    this.d.log(`app ${key} created`);
    if (req.code?.source.case) {
      await this.p.drafts.saveDraft(org, req.name, { code: req.code, inputSchema: req.inputSchema, outputSchema: req.outputSchema });
    }
    return (await this.d.store.getApp(org, req.name)) ?? meta;
  }

  async listApps(org: string, limit: number, cursor: string): Promise<{ apps: AppMeta[]; next: string }> {
    const names = await this.d.store.listApps(org);
    const lim = Math.min(limit || 100, 1000);
    const after = cursor ? Buffer.from(cursor, "base64url").toString("utf8") : "";
    const page = names.filter((n) => n > after).slice(0, lim + 1);
    const more = page.length > lim;
    const chosen = page.slice(0, lim);
    const apps: AppMeta[] = [];
    for (const n of chosen) {
      const m = await this.d.store.getApp(org, n);
      if (m) apps.push(m);
    }
    return { apps, next: more ? Buffer.from(chosen[chosen.length - 1]!, "utf8").toString("base64url") : "" };
  }

  async updateAppConfig(org: string, req: UpdateAppConfigRequest): Promise<AppMeta> {
    const key = `${org}/${req.appName}`;
    checkAppName(req.appName);
    let restart = false;
    const change = () => this.d.appLocks.run(key, async () => {
      const m = await this.requireApp(org, req.appName);
      if (req.description !== undefined) m.description = req.description;
      if (req.resourceTier !== undefined && req.resourceTier !== ResourceTier.UNSPECIFIED) {
        m.resourceTier = req.resourceTier;
        m.limits = limitsFor(req.resourceTier, req.limits);
      } else if (req.limits) {
        m.limits = create(ResourceLimitsSchema, {
          memoryMb: req.limits.memoryMb || m.limits?.memoryMb || 0,
          cpuMillicores: req.limits.cpuMillicores || m.limits?.cpuMillicores || 0,
          timeoutSecs: req.limits.timeoutSecs || m.limits?.timeoutSecs || DEFAULT_TIMEOUT_SECS,
        });
      }
      if (req.scaling) m.scaling = req.scaling;
      if (req.storageMode !== undefined) m.storageMode = req.storageMode;
      if (req.ttlSeconds !== undefined) m.ttlSeconds = req.ttlSeconds;
      const envBefore = JSON.stringify(m.env);
      if (req.replaceEnv) m.env = { ...req.envSet };
      else {
        for (const [k, v] of Object.entries(req.envSet)) m.env[k] = v;
        for (const k of req.envUnset) delete m.env[k];
      }
      if (JSON.stringify(m.env) !== envBefore) restart = true;
      checkPorts(req.ports);
      const portsBefore = m.ports.join(",");
      m.ports = await this.portsAfter(org, req);
      if (m.ports.join(",") !== portsBefore) restart = true;
      if (req.healthPath !== undefined) {
        checkHealthPath(req.healthPath);
        m.healthPath = req.healthPath;
      }
      if (req.mcpEnabled !== undefined) m.mcpEnabled = req.mcpEnabled;
      if (req.inputSchema !== undefined) m.inputSchema = req.inputSchema;
      if (req.outputSchema !== undefined) m.outputSchema = req.outputSchema;
      if (req.allowUnauthenticated !== undefined) m.allowUnauthenticated = req.allowUnauthenticated;
      if (req.maxConcurrency !== undefined) m.maxConcurrency = req.maxConcurrency;
      m.updatedAtMs = BigInt(Date.now());
      await this.d.store.putApp(m);
      return m;
    });
    // new ports are new host names (`<app>-<org>-<port>`): claimed like an app's name
    const meta = req.ports.length ? await this.d.hostNames.claim(org, req.appName, await this.portsAfter(org, req), change) : await change();
    // Config that the process sees takes effect on the next (cold) start.
    if (restart && this.d.runtime.running(key)) {
      this.d.log(`${key}: configuration changed; stopping the running instance (next call cold-starts it)`);
      await this.d.runtime.stopApp(key);
    }
    return meta;
  }

  /** The ports an UpdateAppConfig leaves the app with (as the update applies them). */
  private async portsAfter(org: string, req: UpdateAppConfigRequest): Promise<number[]> {
    const m = await this.requireApp(org, req.appName);
    return req.replacePorts ? [...req.ports] : [...m.ports, ...req.ports.filter((p) => !m.ports.includes(p))];
  }

  async deleteApp(org: string, app: string): Promise<void> {
    const key = `${org}/${app}`;
    await this.d.appLocks.run(key, async () => {
      await this.requireApp(org, app);
      await this.d.runtime.stopApp(key);
      await this.d.store.deleteApp(org, app);
    });
    await this.d.hostNames.writeHostsFile();
    this.d.log(`app ${key} deleted`);
  }

  /** Finds the app a gateway host label names: "<app>-<org>" or "<app>-<org>-<port>". */
  resolveHostLabel(label: string): Promise<HostTarget | undefined> {
    return this.d.hostNames.resolve(label);
  }
}
