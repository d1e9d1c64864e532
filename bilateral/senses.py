"""What a controller senses and how late: the settings every training method shares, and the arms
they make (``bilateral_envs.ArmBatch``)."""

from __future__ import annotations

from dataclasses import dataclass

from bilateral.settings import Settings, setting


@dataclass(frozen=True)
class Senses(Settings):
    """Sensory delays and noise (shared by every training method's configuration)."""

    proprioception_delay: int = setting(
        0, "steps by which muscle lengths and velocities are seen late; 0 = the current state"
    )
    vision_delay: int = setting(0, "steps by which the hand position is seen late; 0 = the current state")
    proprioception_noise: float = setting(0.0, "std of Gaussian noise on the normalised muscle lengths and velocities")
    vision_noise: float = setting(0.0, "std of Gaussian noise on the observed hand position (m)")

    def make_arms(self, n: int, task=None):
        """``n`` arms (``bilateral_envs.ArmBatch``) on the configuration's task (or ``task``), sensing as
        it says, stepped by its ``threads``."""
        from bilateral_envs.batch import ArmBatch
        from bilateral_envs.tasks import make_task

        return ArmBatch(
            task or make_task(self.task),
            n,
            proprioception_delay=self.proprioception_delay,
            vision_delay=self.vision_delay,
            proprioception_noise=self.proprioception_noise,
            vision_noise=self.vision_noise,
            threads=self.threads,
        )

    def validated(self):
        from bilateral_envs.batch import check_delay

        check_delay("proprioception_delay", self.proprioception_delay)
        check_delay("vision_delay", self.vision_delay)
        if not self.proprioception_noise >= 0 or not self.vision_noise >= 0:
            raise ValueError("noise standard deviations must be >= 0")
        return self
