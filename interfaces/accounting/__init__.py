"""The accounting of finished calls written from a child process of each serving process."""
