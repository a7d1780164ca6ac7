"""Cases: intake, the one-map check of a case, workflow and transitions, review, notices, documents, exports."""
