# Scenario exec-nested: brain-run exec runs a shell command that runs another
# brain-run exec. The two processes make one trace: the inner command's root
# span is a child of the outer one's, through TRACEPARENT.
#
# Run by scripts/coverage-lint.sh (make coverage-lint) in an empty working
# directory, offline; the spans and the audit chain land in .brain/.
brain-run exec -- sh -c 'brain-run exec -- true'
