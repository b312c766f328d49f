"""Inter-agency routing: signed envelopes, the agencies' key registry, transports."""
