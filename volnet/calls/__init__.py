"""Safety-check calls (안심콜): enrollment by tier, call lists, retries and escalation of missed calls."""
