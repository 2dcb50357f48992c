"""Daily reminders for inactive students."""
