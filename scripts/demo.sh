#!/usr/bin/env bash
# The seed recipe ("Build an image from your code"), typed as a user would, against a local control
# plane on free loopback ports with a temporary data directory. Run it with `npm run demo`.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/ignite-demo.XXXXXX")"
# `dodil` and `ignite` on PATH, as `npm install -g` would put them.
mkdir -p "$work/bin"
ln -s "$repo/bin/dodil.js" "$work/bin/dodil"
ln -s "$repo/bin/ignite.js" "$work/bin/ignite"
export PATH="$work/bin:$PATH"
# Keep the demo's settings out of the user's own config file.
export DODIL_CONFIG_DIR="$work/config"
unset DODIL_TOKEN IGNITE_TOKEN IGNITE_API_ENDPOINT IGNITE_ORG_ID IGNITE_ORG_NAME IGNITE_DEBUG IGNITE_OUTPUT IGNITE_CONFIG_DIR
token="demo-$(node -e 'process.stdout.write(require("crypto").randomBytes(12).toString("hex"))')"

plane_pid=""
cleanup() {
  if [ -n "$plane_pid" ] && kill -0 "$plane_pid" 2>/dev/null; then
    kill -TERM "$plane_pid" 2>/dev/null || true
    wait "$plane_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; bash -o pipefail -c "$*"; }
# Invoke prints the app's body as is (no newline of its own); keep it for checking, then show it.
invoke_ada() {
  printf '$ dodil ignite invoke acme-corp:greeter -p %s\n' "'{\"name\": \"ada\"}'"
  answer="$(dodil ignite invoke acme-corp:greeter -p '{"name": "ada"}')"
  printf '%s\n' "$answer"
}

step "Start a local control plane (free loopback ports, temporary data dir)"
# Real image builds and containers (buildah + podman) where they can be set up; else the host driver.
driver="${IGNITE_DEMO_DRIVER:-}"
if [ -z "$driver" ]; then
  echo "setting up container tools and offline base images (scripts/setup-base-images.sh)…"
  if bash "$repo/scripts/setup-base-images.sh" >"$work/setup.log" 2>&1; then driver=auto; else
    echo "container setup failed (last lines below); the demo uses the host driver"; tail -n 5 "$work/setup.log"; driver=host
  fi
fi
mkfifo "$work/ready"
dodil ignite dev --listen 127.0.0.1:0 --gateway-listen 127.0.0.1:0 --data-dir "$work/data" --driver "$driver" \
  --token "acme-corp=$token" -o json >"$work/ready" 2>"$work/control-plane.log" &
plane_pid=$!
read -r ready <"$work/ready" || { cat "$work/control-plane.log" >&2; exit 1; }
grpc="$(node -e 'console.log(JSON.parse(process.argv[1]).grpc_endpoint)' "$ready")"
gateway="$(node -e 'console.log(JSON.parse(process.argv[1]).gateway_url)' "$ready")"
chosen="$(node -e 'console.log(JSON.parse(process.argv[1]).driver)' "$ready")"
echo "control plane: gRPC $grpc, gateway $gateway, driver $chosen (pid $plane_pid)"

step "Prerequisites: point the CLI at it (--debug = plaintext, as documented for local endpoints)"
printf '$ dodil ignite config set token <token>\n'
dodil ignite config set token "$token"
show "dodil ignite config set api_endpoint $grpc"
show "dodil ignite config set debug true"
show "dodil ignite config view"

step "1-2. The server and its Dockerfile (standard-library Python, listens on \$PORT, USER 65534)"
cp -R "$repo/examples/greeter" "$work/app"
cd "$work"
show "ls app && cat app/Dockerfile"

step "3. Create the app"
show 'dodil ignite app create greeter --description "FastAPI greeter built from a Dockerfile"'

step "4. Save the code (build from the Dockerfile)"
show "dodil ignite draft save acme-corp:greeter --code ./app --dockerfile-path Dockerfile"
show "dodil ignite draft save acme-corp:greeter --code ./app --dockerfile-path Dockerfile --build-arg APP_ENV=prod"

step "5. Publish (follow the build log first)"
show "dodil ignite draft compile-logs acme-corp:greeter --follow"
show "dodil ignite draft publish acme-corp:greeter"
if command -v jq >/dev/null; then
  show "dodil ignite app get acme-corp:greeter -o json | jq '{active_version, public_urls}'"
else
  show "dodil ignite app get acme-corp:greeter -o json"
fi

step "6. Invoke"
invoke_ada
node -e '
  const r = JSON.parse(process.argv[1]);
  const ok = r.greeting === "Hello, ada!" && /^[0-9A-HJKMNP-TV-Z]{26}$/.test(r.execution_id) && r.function_id === "acme-corp/greeter" && r.organization_id !== "";
  if (!ok) { console.error("unexpected answer:", process.argv[1]); process.exit(1); }
  console.log("checked: greeting, ULID execution_id, function_id and organization_id are as the recipe shows");
' "$answer"

step "Iterating: change the greeting, save and publish version 2"
show "sed -i 's/GREETING = \"Hello\"/GREETING = \"Howdy\"/' app/server.py"
show "dodil ignite draft save acme-corp:greeter --code ./app --dockerfile-path Dockerfile"
show "dodil ignite draft publish acme-corp:greeter"
invoke_ada
show "dodil ignite version list acme-corp:greeter"

step "Roll back to version 1"
show "dodil ignite version rollback acme-corp:greeter 1"
invoke_ada
grep -q '"greeting": "Hello, ada!"' <<<"$answer" || { echo "version 1 is not answering after rollback" >&2; exit 1; }
echo "checked: version 1 answers again"

step "Stop the local control plane"
kill -TERM "$plane_pid"
wait "$plane_pid"
plane_pid=""
tail -n 1 "$work/control-plane.log"
echo "demo finished: the control plane and its apps have stopped"
