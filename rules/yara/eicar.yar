rule EICAR_Test_File
{
  meta:
    description = "EICAR anti-malware test file"
    severity = 10
    explanation = "The EICAR string is the industry-standard test signature; scanners must flag it."
  strings:
    $eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
  condition:
    $eicar
}

rule ClamAV_Test_File
{
  meta:
    description = "ClamAV test executable (clam.exe)"
    severity = 10
    explanation = "The ClamAV project's harmless test executable; scanners must flag it like EICAR."
  strings:
    $msgbox = "CLAMessageBoxA"
    $tag = "[CLAMAV]"
  condition:
    uint16(0) == 0x5A4D and $msgbox and $tag
}
