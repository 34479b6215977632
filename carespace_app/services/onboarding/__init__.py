"""Joining the practice: invitations for patients and caregivers, staff accounts."""
