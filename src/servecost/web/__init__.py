"""The web explorer and HTTP API (`servecost serve`); needs the `web` extra (fastapi, uvicorn)."""
