"""The HTTP side shared by the JSON API and the web pages: dependencies, error statuses, lifespan, limits."""
