"""Delivering notifications to the chat platforms teams read (企业微信, 飞书, 钉钉) and to
JSON webhooks: each platform's request (`payloads`) and the run that sends them (`run`).
The outbox itself and its channels live in the repository (`repo/notifications.py`,
`repo/deliveries.py`); this package holds no SQL."""
