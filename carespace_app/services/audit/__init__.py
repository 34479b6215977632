"""The audit trail: writing it (trail), the office's Audit Log (office_log) and a patient's Record activity (patient_activity)."""
