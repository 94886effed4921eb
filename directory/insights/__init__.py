"""Clinic insights: counters of how often listings were found and contacted, and the
monthly figures clinics and editors read (no visitor is ever recorded)."""
