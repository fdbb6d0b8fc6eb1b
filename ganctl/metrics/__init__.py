"""Metrics: image quality (PSNR, SSIM) and distribution distances."""
