// Cryptocurrency miners.

rule CoinMiner_XMRig_Stratum
{
  meta:
    description = "Cryptocurrency miner (XMRig / stratum pool configuration)"
    severity = 7
    technique = "T1496"
  strings:
    $stratum = /stratum\+(tcp|ssl|tls):\/\/[A-Za-z0-9.\-]+:[0-9]{2,5}/ nocase
    $xmrig1 = "xmrig" nocase
    $xmrig2 = "randomx" nocase
    $xmrig3 = "\"donate-level\""
    $pool = /"(url|pool)"\s*:\s*"[A-Za-z0-9.\-]+:[0-9]{2,5}"/
    $cn = "cryptonight" nocase
  condition:
    $stratum or ($xmrig1 and ($xmrig2 or $xmrig3 or $pool)) or ($cn and $pool)
}
