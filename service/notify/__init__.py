"""Text messages (短信): what the window tells applicants and staff (data/notifications.toml), the outbox they wait
in, the senders (a log by default, an SMS gateway's HTTP API when configured) and their delivery with retries."""
