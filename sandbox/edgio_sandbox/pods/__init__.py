"""The sandbox's pod runner: a stand-in for kubelet and kube-scheduler, so the Helm
chart's Deployment and CronJob run as their pods beside the real API server
(`edgio-sandbox up --real-kube --run-pods`). See :mod:`edgio_sandbox.pods.runner`."""

from edgio_sandbox.pods.runner import PodRunner, PodRunnerError

__all__ = ["PodRunner", "PodRunnerError"]
