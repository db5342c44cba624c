"""Detections: rules (SQL and Sigma) evaluated over the lake, alerts, outputs, threat intel and hunting."""
