"""What plugins build their recipes from: adversarial losses, learning-rate schedules,
paired augmentation and seeded noise. The engine (train/) knows none of it."""
