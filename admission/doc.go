// Package admission is Safeguard's Kubernetes admission webhook. The API
// server sends an AdmissionReview (admission.k8s.io/v1, or v1beta1 from old
// clusters) for every workload created or updated; the webhook finds every
// container image in it — containers, initContainers and ephemeralContainers
// of a Pod, or of the pod template a Deployment, StatefulSet, DaemonSet,
// ReplicaSet, Job, ReplicationController or CronJob (two levels down, in its
// job template) carries, or any other object with a spec.template.spec —
// and asks the policy gate about each unique reference once. Enforce
// violations deny the request with a message naming the container's JSON
// path, the image and every failed rule; warn violations come back as
// AdmissionReview warnings, shown by kubectl; audit violations are only
// logged. On UPDATE only images the change adds are checked, so an image
// admitted yesterday does not block today's scale-up.
//
// The mutating side pins each evaluated image to the digest the gate
// evaluated (repo:tag becomes repo:tag@sha256:…, a JSON patch), so what
// runs is what was checked. Admitted top-level workloads are recorded in
// the deployment inventory: which digest runs in which cluster, namespace
// and environment.
//
// Answers come from facts precomputed per digest; the gate is behind the
// small Evaluator interface declared here. Each evaluation gets a deadline
// (the budget); if the evaluator overruns it the configured failure mode
// decides, and the reason says so.
package admission
