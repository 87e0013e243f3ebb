"""Consumer-environment index (消费环境指数) data platform."""
