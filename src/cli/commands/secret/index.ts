import { defineGroup } from "../../command-spec.js";
import { secretCreateCommand } from "./create.js";
import { secretDeleteCommand } from "./delete.js";
import { secretGetCommand } from "./get.js";
import { secretListCommand } from "./list.js";

export const secretGroup = defineGroup({
  name: "secret",
  summary: "Manage git and registry credential slots (SecretService)",
  commands: [secretCreateCommand, secretGetCommand, secretListCommand, secretDeleteCommand],
});
