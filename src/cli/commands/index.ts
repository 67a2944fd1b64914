import type { CommandSpec, GroupSpec } from "../command-spec.js";
import { appGroup } from "./app/index.js";
import { buildGroup } from "./build/index.js";
import { configGroup } from "./config/index.js";
import { devCommand } from "./dev.js";
import { draftGroup } from "./draft/index.js";
import { executionGroup } from "./execution/index.js";
import { invokeCommand } from "./invoke.js";
import { dodilLogoutCommand } from "./dodil-logout.js";
import { loginCommand } from "./login.js";
import { modelsGroup } from "./models/index.js";
import { secretGroup } from "./secret/index.js";
import { versionGroup } from "./version/index.js";

/** Every Ignite command, in the order help lists them. Adding a command means adding it here. */
export const igniteCommands: Array<CommandSpec | GroupSpec> = [
  appGroup,
  draftGroup,
  versionGroup,
  invokeCommand,
  executionGroup,
  buildGroup,
  secretGroup,
  modelsGroup,
  configGroup,
  loginCommand,
  dodilLogoutCommand,
  devCommand,
];
