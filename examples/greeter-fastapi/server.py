import os
from fastapi import FastAPI, Header, Request
import uvicorn

app = FastAPI()


@app.get("/health")
@app.get("/healthz")  # the platform's default health path: only a 2xx there makes a version ready
def health():
    return {"ok": True}


@app.post("/")
async def invoke(
    request: Request,
    x_ignite_execution_id: str | None = Header(default=None),
    x_ignite_function_id: str | None = Header(default=None),
    x_ignite_organization_id: str | None = Header(default=None),
):
    body = await request.json() if await request.body() else {}
    name = body.get("name", "world")
    return {
        "greeting": f"Hello, {name}!",
        "execution_id": x_ignite_execution_id or "",
        "function_id": x_ignite_function_id or "",
        "organization_id": x_ignite_organization_id or "",
    }


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8080"))
    uvicorn.run(app, host="0.0.0.0", port=port)
