import { execFileSync } from "node:child_process";

/** Why the Go managed runtime cannot be tested here, or "" (the machine's go toolchain builds it). */
export const goMissing = (() => {
  try {
    execFileSync("go", ["version"], { stdio: "ignore" });
    return "";
  } catch {
    return "the Go toolchain (go) is not installed; CI installs golang-go";
  }
})();

/** A Go app for the managed runtime: echoes its name, fails on request, reports the call's context. */
export const MAIN_GO = `package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"ignite"
)

func handler(payload []byte, ctx *ignite.Context) ([]byte, error) {
	var in struct {
		Name string \`json:"name"\`
		Fail bool   \`json:"fail"\`
	}
	if len(payload) > 0 {
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, err
		}
	}
	fmt.Println("handling", in.Name)
	if in.Fail {
		return nil, errors.New("asked to fail")
	}
	return json.Marshal(map[string]string{"hello": in.Name, "execution_id": ctx.ExecutionID, "org": ctx.OrganizationID})
}

func main() { ignite.Start(handler) }
`;
