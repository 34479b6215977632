"""A patient's record: demographics, appointments, labs, messages, resources."""
