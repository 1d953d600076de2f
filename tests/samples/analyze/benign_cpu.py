#!/usr/bin/env python3
# Benign: CPU-heavy work with no side effects.
primes = [n for n in range(2, 30000) if all(n % d for d in range(2, int(n ** 0.5) + 1))]
print(len(primes))
