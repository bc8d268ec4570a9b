"""The live wallboard: a small aiohttp app (127.0.0.1:8088 by default) showing each queue's waiting
callers, longest wait, agents by state and today's service level, pushed to the page with
Server-Sent Events from the same product events the MQTT publisher gets."""
