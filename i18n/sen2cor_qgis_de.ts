<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1">
<context>
    <name>BackgroundRun</name>
    <message>
        <location filename="../ui/background.py" line="81"/>
        <source>Sentinel-2 L2A</source>
        <translation>Sentinel-2 L2A</translation>
    </message>
    <message>
        <location filename="../ui/background.py" line="92"/>
        <source>{0}: {1}</source>
        <translation>{0}: {1}</translation>
    </message>
    <message>
        <location filename="../ui/background.py" line="115"/>
        <source>Starting {0}…</source>
        <translation>{0} wird gestartet …</translation>
    </message>
    <message>
        <location filename="../ui/background.py" line="120"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <location filename="../ui/background.py" line="149"/>
        <source>Warning: {0}</source>
        <translation>Warnung: {0}</translation>
    </message>
    <message>
        <location filename="../ui/background.py" line="161"/>
        <source>Show log</source>
        <translation>Protokoll anzeigen</translation>
    </message>
    <message>
        <location filename="../ui/background.py" line="171"/>
        <source>{0}: log</source>
        <translation>{0}: Protokoll</translation>
    </message>
    <message>
        <location filename="../ui/background.py" line="188"/>
        <source>Finished: {0}</source>
        <translation>Fertig: {0}</translation>
    </message>
    <message>
        <location filename="../ui/background.py" line="190"/>
        <source>({0} warnings, see the log)</source>
        <translation>({0} Warnungen, siehe Protokoll)</translation>
    </message>
    <message>
        <location filename="../ui/background.py" line="193"/>
        <source>Cancelled; nothing was written.</source>
        <translation>Abgebrochen; es wurde nichts geschrieben.</translation>
    </message>
    <message>
        <location filename="../ui/background.py" line="196"/>
        <source>see the log</source>
        <translation>siehe Protokoll</translation>
    </message>
    <message>
        <location filename="../ui/background.py" line="197"/>
        <source>Failed: {0}</source>
        <translation>Fehlgeschlagen: {0}</translation>
    </message>
</context>
<context>
    <name>BatchL2AAlgorithm</name>
    <message>
        <location filename="../algorithms/batch_convert.py" line="83"/>
        <source>Batch L2A conversion</source>
        <translation>L2A-Stapelkonvertierung</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="86"/>
        <source>Converts many Sentinel-2 Level-1C products to Level-2A on a Dask cluster, as the L2A_Batch command does: a local cluster on this computer (its worker processes sized from the cores and the memory a product needs) or an existing Dask scheduler.

Inputs: a folder, searched recursively for .SAFE folders and .zip files (Level-2A products and hidden folders are skipped), and/or a list of files: products, MTD_MSIL1C.xml files, or text files listing products one per line.

Every product is converted with the same options: processing mode (FULL, SC_ONLY: scene classification only, CR_ONLY: product tree only), resolution, image format, GIPP files and the GIPP fields below (a field left unset takes the value of the GIPP file).

Resumable: the state file L2A_Batch.sqlite in the output folder (not set: each product is written beside its input and the state file beside the first one) records every product. Running the algorithm again with the same inputs converts only what is missing: finished products are skipped, products already present in the output folder are not converted again unless &apos;Overwrite&apos; is checked, failed ones are retried while attempts remain. A corrupt product fails alone; a worker that dies loses only its product, which is retried elsewhere.

The log shows a line per product finished or failed (with its error); Cancel stops the batch cleanly. Outputs: the output folder, the counts (done, skipped, failed, not run), the outcome (complete, failed, interrupted), the state file and the progress file. Nothing is loaded into the project.

Needs Dask (pip install &apos;dask[distributed]&apos;).</source>
        <translation>Konvertiert viele Sentinel-2-Level-1C-Produkte auf einem Dask-Cluster in Level-2A, wie der Befehl L2A_Batch: auf einem lokalen Cluster auf diesem Rechner (seine Worker-Prozesse nach den Prozessorkernen und dem Speicherbedarf eines Produkts bemessen) oder über einen bestehenden Dask-Scheduler.

Eingaben: ein Ordner, rekursiv nach .SAFE-Ordnern und .zip-Dateien durchsucht (Level-2A-Produkte und versteckte Ordner werden übersprungen), und/oder eine Liste von Dateien: Produkte, MTD_MSIL1C.xml-Dateien oder Textdateien mit einem Produkt je Zeile.

Jedes Produkt wird mit denselben Optionen konvertiert: Prozessierungsart (FULL, SC_ONLY: nur Szenenklassifikation, CR_ONLY: nur Produktstruktur), Auflösung, Bildformat, GIPP-Dateien und die GIPP-Felder unten (ein leeres Feld übernimmt den Wert der GIPP-Datei).

Fortsetzbar: die Statusdatei L2A_Batch.sqlite im Ausgabeordner (leer: jedes Produkt wird neben seine Eingabe geschrieben, die Statusdatei neben die erste) verzeichnet jedes Produkt. Ein erneuter Lauf mit denselben Eingaben konvertiert nur, was fehlt: fertige Produkte werden übersprungen, im Ausgabeordner schon vorhandene nicht erneut konvertiert, außer 'Überschreiben' ist angekreuzt, fehlgeschlagene werden wiederholt, solange Versuche übrig sind. Ein beschädigtes Produkt scheitert allein; ein abgestürzter Worker verliert nur sein Produkt, das anderswo wiederholt wird.

Das Protokoll zeigt eine Zeile je fertigem oder fehlgeschlagenem Produkt (mit seinem Fehler); Abbrechen beendet den Stapel sauber. Ausgaben: der Ausgabeordner, die Anzahlen (konvertiert, übersprungen, fehlgeschlagen, nicht gelaufen), das Ergebnis (complete, failed, interrupted), die Statusdatei und die Fortschrittsdatei. Es wird nichts in das Projekt geladen.

Benötigt Dask (pip install 'dask[distributed]').</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="117"/>
        <source>Folder of Level-1C products (searched recursively)</source>
        <translation>Ordner mit Level-1C-Produkten (rekursiv durchsucht)</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="120"/>
        <source>Level-1C products (.zip, MTD_MSIL1C.xml) or text files listing products</source>
        <translation>Level-1C-Produkte (.zip, MTD_MSIL1C.xml) oder Textdateien mit Produktlisten</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="123"/>
        <source>Output folder (not set: each product beside its input)</source>
        <translation>Ausgabeordner (leer: jedes Produkt neben seiner Eingabe)</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="126"/>
        <source>Processing (FULL: scene classification and atmospheric correction, SC_ONLY: scene classification only, CR_ONLY: product tree only)</source>
        <translation>Prozessierung (FULL: Szenenklassifikation und atmosphärische Korrektur, SC_ONLY: nur Szenenklassifikation, CR_ONLY: nur Produktstruktur)</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="130"/>
        <source>Resolution (ALL: 20 m, then 10 m, and 60 m from 20 m)</source>
        <translation>Auflösung (ALL: 20 m, dann 10 m, und 60 m aus 20 m)</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="133"/>
        <source>Image format (JP2: JPEG 2000, TIF: GeoTIFF, RAW: ENVI)</source>
        <translation>Bildformat (JP2: JPEG 2000, TIF: GeoTIFF, RAW: ENVI)</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="136"/>
        <source>User configuration L2A_GIPP.xml (not set: the one in SEN2COR_HOME)</source>
        <translation>Benutzerkonfiguration L2A_GIPP.xml (leer: die in SEN2COR_HOME)</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="139"/>
        <source>Products at once: local worker processes (not set: from the cores and the memory)</source>
        <translation>Produkte gleichzeitig: lokale Worker-Prozesse (leer: nach Prozessorkernen und Speicher)</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="143"/>
        <source>Memory a product needs (GB)</source>
        <translation>Speicherbedarf eines Produkts (GB)</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="147"/>
        <source>Retries of a failed product (attempts beyond the first, over all runs)</source>
        <translation>Wiederholungen eines fehlgeschlagenen Produkts (Versuche nach dem ersten, über alle Läufe)</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="150"/>
        <source>Overwrite: convert again products already in the output folder</source>
        <translation>Überschreiben: Produkte, die schon im Ausgabeordner liegen, erneut konvertieren</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="155"/>
        <source>Existing Dask scheduler address, e.g. tcp://host:8786 (not set: a local cluster)</source>
        <translation>Adresse eines bestehenden Dask-Schedulers, z. B. tcp://host:8786 (leer: ein lokaler Cluster)</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="159"/>
        <source>Threads per local worker process (not set: 1)</source>
        <translation>Threads je lokalem Worker-Prozess (leer: 1)</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="162"/>
        <source>Give products that failed for good a new set of attempts</source>
        <translation>Endgültig fehlgeschlagenen Produkten neue Versuche geben</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="165"/>
        <source>Scene classification in CLASSIC mode (Sen2Cor 2.9) instead of EVOLUTION</source>
        <translation>Szenenklassifikation im Modus CLASSIC (Sen2Cor 2.9) statt EVOLUTION</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="168"/>
        <source>Write the SCL as Cloud-Optimized GeoTIFF</source>
        <translation>SCL als Cloud-Optimized GeoTIFF schreiben</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="174"/>
        <source>Products in the batch</source>
        <translation>Produkte im Stapel</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="174"/>
        <source>Products converted (now or by an earlier run)</source>
        <translation>Konvertierte Produkte (jetzt oder in einem früheren Lauf)</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="174"/>
        <source>Products already present, not converted again</source>
        <translation>Bereits vorhandene, nicht erneut konvertierte Produkte</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="174"/>
        <source>Products failed</source>
        <translation>Fehlgeschlagene Produkte</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="174"/>
        <source>Products not run (cancelled)</source>
        <translation>Nicht gelaufene Produkte (abgebrochen)</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="180"/>
        <source>Outcome (complete, failed, interrupted)</source>
        <translation>Ergebnis (complete, failed, interrupted)</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="182"/>
        <source>Batch state file (SQLite)</source>
        <translation>Statusdatei des Stapels (SQLite)</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="183"/>
        <source>Progress file</source>
        <translation>Fortschrittsdatei</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="202"/>
        <source>No input given: choose a folder of Level-1C products and/or Level-1C product files.</source>
        <translation>Keine Eingabe: einen Ordner mit Level-1C-Produkten und/oder Level-1C-Produktdateien wählen.</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="206"/>
        <source>{path}: input not found</source>
        <translation>{path}: Eingabe nicht gefunden</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="226"/>
        <source>Scene classification runs at 20 m or 60 m only (it is never computed at 10 m).</source>
        <translation>Die Szenenklassifikation läuft nur mit 20 m oder 60 m (mit 10 m wird sie nie berechnet).</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="237"/>
        <source>Batch conversion is not available: {0}</source>
        <translation>Stapelkonvertierung nicht verfügbar: {0}</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="268"/>
        <source>Workers and threads size the local cluster only; the scheduler&apos;s workers are used as they are.</source>
        <translation>Worker und Threads bemessen nur den lokalen Cluster; die Worker des Schedulers werden so genutzt, wie sie sind.</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="298"/>
        <source>Cancelled before start; nothing was written.</source>
        <translation>Vor dem Start abgebrochen; es wurde nichts geschrieben.</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="295"/>
        <source>{0} Level-1C product(s) found; state file: {1}</source>
        <translation>{0} Level-1C-Produkt(e) gefunden; Statusdatei: {1}</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="312"/>
        <source>Cancelled: {0} product(s) not run. Run the algorithm again with the same inputs and output folder to convert them.</source>
        <translation>Abgebrochen: {0} Produkt(e) nicht gelaufen. Den Algorithmus mit denselben Eingaben und demselben Ausgabeordner erneut ausführen, um sie zu konvertieren.</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="316"/>
        <source>{0} product(s) failed; their errors are in the log above and in the state file {1}</source>
        <translation>{0} Produkt(e) fehlgeschlagen; die Fehler stehen oben im Protokoll und in der Statusdatei {1}</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="338"/>
        <source>{0}/{1} done, {2} failed, {3} running</source>
        <translation>{0}/{1} fertig, {2} fehlgeschlagen, {3} laufend</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="350"/>
        <source>Done: {0} ({1}) -&gt; {2}</source>
        <translation>Fertig: {0} ({1}) -&gt; {2}</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="352"/>
        <source>Failed: {0} (attempt {1}/{2}): {3}</source>
        <translation>Fehlgeschlagen: {0} (Versuch {1}/{2}): {3}</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="355"/>
        <source>Retrying {0} (attempt {1}/{2} failed): {3}</source>
        <translation>Wiederholung von {0} (Versuch {1}/{2} fehlgeschlagen): {3}</translation>
    </message>
    <message>
        <location filename="../algorithms/batch_convert.py" line="358"/>
        <source>Started: {0} on {1}</source>
        <translation>Gestartet: {0} auf {1}</translation>
    </message>
</context>
<context>
    <name>CreateProductTreeAlgorithm</name>
    <message>
        <location filename="../algorithms/product_tree.py" line="13"/>
        <source>Create L2A product tree only</source>
        <translation>Nur L2A-Produktstruktur anlegen</translation>
    </message>
    <message>
        <location filename="../algorithms/product_tree.py" line="16"/>
        <source>Creates the complete Level-2A product tree of a Sentinel-2 Level-1C product -- metadata (MTD_MSIL2A.xml, MTD_TL.xml, MTD_DS.xml, L2A_QUALITY.xml, manifest.safe), quality masks and auxiliary files taken over from the L1C, empty image folders -- without processing, as &apos;L2A_Process --cr_only&apos; does.

The product appears atomically in the output folder (beside the input when not set); an existing product is never overwritten.</source>
        <translation>Legt die vollständige Level-2A-Produktstruktur eines Sentinel-2-Level-1C-Produkts an – Metadaten (MTD_MSIL2A.xml, MTD_TL.xml, MTD_DS.xml, L2A_QUALITY.xml, manifest.safe), aus dem L1C übernommene Qualitätsmasken und Hilfsdateien, leere Bildordner – ohne Prozessierung, wie 'L2A_Process --cr_only'.

Das Produkt erscheint atomar im Ausgabeordner (ohne Angabe neben der Eingabe); ein vorhandenes Produkt wird nie überschrieben.</translation>
    </message>
</context>
<context>
    <name>GippParameters</name>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="107"/>
        <source>Log level</source>
        <translation>Protokollstufe</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="108"/>
        <source>Region of interest: midpoint row (10 m pixels, OFF or AUTO)</source>
        <translation>Interessensgebiet: Zeile des Mittelpunkts (10-m-Pixel, OFF oder AUTO)</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="109"/>
        <source>Region of interest: midpoint column (10 m pixels, OFF or AUTO)</source>
        <translation>Interessensgebiet: Spalte des Mittelpunkts (10-m-Pixel, OFF oder AUTO)</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="110"/>
        <source>Region of interest: height (10 m pixels)</source>
        <translation>Interessensgebiet: Höhe (10-m-Pixel)</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="111"/>
        <source>Region of interest: width (10 m pixels)</source>
        <translation>Interessensgebiet: Breite (10-m-Pixel)</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="112"/>
        <source>Product DOI written into the metadata</source>
        <translation>Produkt-DOI in den Metadaten</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="113"/>
        <source>Number of threads</source>
        <translation>Anzahl der Threads</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="114"/>
        <source>Product generator</source>
        <translation>Produktgenerator</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="115"/>
        <source>DEM folder</source>
        <translation>DGM-Ordner</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="116"/>
        <source>DEM download address</source>
        <translation>Download-Adresse für DGM-Kacheln</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="117"/>
        <source>Write the DEM into the product</source>
        <translation>DGM in das Produkt schreiben</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="118"/>
        <source>Stop on DEM errors</source>
        <translation>Bei DGM-Fehlern abbrechen</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="119"/>
        <source>Write true-colour images (TCI)</source>
        <translation>Echtfarbbilder (TCI) schreiben</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="120"/>
        <source>Write the dark dense vegetation map (DDV)</source>
        <translation>Karte der dunklen dichten Vegetation (DDV) schreiben</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="121"/>
        <source>Use the L1C quality masks</source>
        <translation>L1C-Qualitätsmasken verwenden</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="122"/>
        <source>Derive 60 m from 20 m</source>
        <translation>60 m aus 20 m ableiten</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="123"/>
        <source>Product specification (PSD) version of the output</source>
        <translation>Version der Produktspezifikation (PSD) der Ausgabe</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="124"/>
        <source>Median filter size for the scene classification</source>
        <translation>Größe des Medianfilters der Szenenklassifikation</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="125"/>
        <source>Aerosol type</source>
        <translation>Aerosoltyp</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="126"/>
        <source>Season (mid-latitude atmosphere)</source>
        <translation>Jahreszeit (Atmosphäre mittlerer Breiten)</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="127"/>
        <source>Ozone content (DU)</source>
        <translation>Ozongehalt (DU)</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="128"/>
        <source>Water-vapour correction</source>
        <translation>Wasserdampfkorrektur</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="129"/>
        <source>Visibility update mode</source>
        <translation>Modus der Sichtweitenbestimmung</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="130"/>
        <source>Water vapour over water</source>
        <translation>Wasserdampf über Wasserflächen</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="131"/>
        <source>Cirrus correction</source>
        <translation>Zirruskorrektur</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="132"/>
        <source>Terrain correction with the DEM</source>
        <translation>Geländekorrektur mit dem DGM</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="133"/>
        <source>BRDF correction mode</source>
        <translation>Modus der BRDF-Korrektur</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="134"/>
        <source>BRDF lower bound</source>
        <translation>Untergrenze der BRDF-Korrektur</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="135"/>
        <source>Adjacency range (km)</source>
        <translation>Reichweite des Nachbarschaftseffekts (km)</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="136"/>
        <source>Start visibility (km)</source>
        <translation>Anfangssichtweite (km)</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="137"/>
        <source>Ground altitude without DEM (km)</source>
        <translation>Geländehöhe ohne DGM (km)</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="138"/>
        <source>Water-vapour map smoothing (m)</source>
        <translation>Glättung der Wasserdampfkarte (m)</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="139"/>
        <source>Water-vapour threshold for cirrus correction (cm)</source>
        <translation>Wasserdampfschwelle der Zirruskorrektur (cm)</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="140"/>
        <source>Work database compression level</source>
        <translation>Kompressionsstufe der Arbeitsdatenbanken</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="149"/>
        <source>[SC calibration]</source>
        <translation>[SC-Kalibrierung]</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="149"/>
        <source>[AC calibration]</source>
        <translation>[AC-Kalibrierung]</translation>
    </message>
    <message>
        <location filename="../algorithms/gipp_parameters.py" line="158"/>
        <source>{help} Sen2Cor 2.11 default: {default}. Allowed: {allowed}. Not set: the value of {file} ({path}) is used.</source>
        <translation>{help} Voreinstellung von Sen2Cor 2.11: {default}. Zulässig: {allowed}. Ohne Angabe gilt der Wert aus {file} ({path}).</translation>
    </message>
</context>
<context>
    <name>L2AProcessAlgorithm</name>
    <message>
        <location filename="../algorithms/l2a_process.py" line="24"/>
        <source>L2A processing (Sen2Cor)</source>
        <translation>L2A-Prozessierung (Sen2Cor)</translation>
    </message>
    <message>
        <location filename="../algorithms/l2a_process.py" line="27"/>
        <source>Converts a Sentinel-2 Level-1C product into a Level-2A product: scene classification, aerosol optical thickness, water vapour and surface reflectance, as ESA&apos;s Sen2Cor 2.11 does (same configuration files, same product).

Input: a .SAFE folder, a .zip of one, or its MTD_MSIL1C.xml. Output folder not set: the product is written beside the input.

Configuration: the fields below are the parameters of L2A_GIPP.xml (and, among the advanced parameters, of the calibration files). A field left unset takes the value of the GIPP file (SEN2COR_HOME/cfg/L2A_GIPP.xml or the file given); a field with a value overrides the file for this run. Provider settings (default DEM folder, threads) apply where the dialog leaves the field unset.

Outputs: the product folder, the 10 m and 20 m surface-reflectance stacks (VRT, reflectance as Float32), TCI, SCL, AOT and WVP, for use in models. From the toolbox, TCI and SCL (with Sen2Cor&apos;s colours) are added to the project in a group named after the product.</source>
        <translation>Wandelt ein Sentinel-2-Level-1C-Produkt in ein Level-2A-Produkt um: Szenenklassifikation, aerosoloptische Dicke, Wasserdampf und Bodenreflexion, wie ESAs Sen2Cor 2.11 (gleiche Konfigurationsdateien, gleiches Produkt).

Eingabe: ein .SAFE-Ordner, eine .zip-Datei davon oder seine MTD_MSIL1C.xml. Ohne Ausgabeordner wird das Produkt neben die Eingabe geschrieben.

Konfiguration: Die Felder unten sind die Parameter der L2A_GIPP.xml (und, unter den erweiterten Parametern, der Kalibrierungsdateien). Ein leeres Feld übernimmt den Wert der GIPP-Datei (SEN2COR_HOME/cfg/L2A_GIPP.xml oder die angegebene Datei); ein Feld mit Wert überschreibt die Datei für diesen Lauf. Die Anbietereinstellungen (Standard-DGM-Ordner, Threads) gelten, wo der Dialog das Feld leer lässt.

Ausgaben: der Produktordner, die Bodenreflexionsstapel mit 10 m und 20 m (VRT, Reflexion als Float32), TCI, SCL, AOT und WVP zur Verwendung in Modellen. Aus der Werkzeugkiste werden TCI und SCL (mit den Sen2Cor-Farben) in einer nach dem Produkt benannten Gruppe zum Projekt hinzugefügt.</translation>
    </message>
    <message>
        <location filename="../algorithms/l2a_process.py" line="44"/>
        <source>Resolution (ALL: 20 m, then 10 m, and 60 m from 20 m)</source>
        <translation>Auflösung (ALL: 20 m, dann 10 m, und 60 m aus 20 m)</translation>
    </message>
    <message>
        <location filename="../algorithms/l2a_process.py" line="47"/>
        <source>Write the SCL as Cloud-Optimized GeoTIFF</source>
        <translation>SCL als Cloud-Optimized GeoTIFF schreiben</translation>
    </message>
</context>
<context>
    <name>ProviderSettings</name>
    <message>
        <location filename="../algorithms/settings.py" line="71"/>
        <source>Default DEM folder (used when the dialog leaves DEM_Directory unset)</source>
        <translation>Standard-DGM-Ordner (gilt, wenn der Dialog DEM_Directory leer lässt)</translation>
    </message>
    <message>
        <location filename="../algorithms/settings.py" line="71"/>
        <source>Auxiliary-data folder (ESA CCI maps, snow climatology)</source>
        <translation>Ordner der Hilfsdaten (ESA-CCI-Karten, Schneeklimatologie)</translation>
    </message>
    <message>
        <location filename="../algorithms/settings.py" line="71"/>
        <source>Work folder for temporary databases (empty: the engine&apos;s default)</source>
        <translation>Arbeitsordner für temporäre Datenbanken (leer: Voreinstellung des Prozessors)</translation>
    </message>
    <message>
        <location filename="../algorithms/settings.py" line="71"/>
        <source>Number of threads (0: Nr_Threads of L2A_GIPP.xml)</source>
        <translation>Anzahl der Threads (0: Nr_Threads aus L2A_GIPP.xml)</translation>
    </message>
    <message>
        <location filename="../algorithms/settings.py" line="71"/>
        <source>Memory cap in MB (0: no cap)</source>
        <translation>Speichergrenze in MB (0: keine Grenze)</translation>
    </message>
    <message>
        <location filename="../algorithms/settings.py" line="71"/>
        <source>DEM download: seconds without data before an attempt fails</source>
        <translation>DGM-Download: Sekunden ohne Daten, bevor ein Versuch scheitert</translation>
    </message>
    <message>
        <location filename="../algorithms/settings.py" line="71"/>
        <source>DEM download: extra attempts after the first one</source>
        <translation>DGM-Download: weitere Versuche nach dem ersten</translation>
    </message>
    <message>
        <location filename="../algorithms/settings.py" line="95"/>
        <source>CAMS netCDF files of the auxiliary-data folder (AUTO: when found, ON: required, OFF: never)</source>
        <translation>CAMS-netCDF-Dateien im Hilfsdatenordner (AUTO: wenn vorhanden, ON: erforderlich, OFF: nie)</translation>
    </message>
</context>
<context>
    <name>RoiProcessAlgorithm</name>
    <message>
        <location filename="../algorithms/roi_process.py" line="33"/>
        <source>L2A processing of a region of interest</source>
        <translation>L2A-Prozessierung eines Interessensgebiets</translation>
    </message>
    <message>
        <location filename="../algorithms/roi_process.py" line="36"/>
        <source>Level-2A processing of a window of the tile only (Sen2Cor&apos;s Region_Of_Interest).

MANUAL: midpoint row and column and window height and width in 10 m pixels of the tile grid, each divisible by 6 and between 0 and 10980; the window must lie inside the tile.
AUTO: Sen2Cor chooses the region (window size as given).
EXTENT: the window covering a map extent.
LAYER: the window covering the polygons of a layer (or its selected polygons).
Extents and polygons are reprojected into the tile&apos;s coordinate system and widened to whole 60 m pixels.

All other parameters are those of &apos;L2A processing&apos;.</source>
        <translation>Level-2A-Prozessierung nur eines Fensters der Kachel (Region_Of_Interest von Sen2Cor).

MANUAL: Zeile und Spalte des Mittelpunkts sowie Höhe und Breite des Fensters in 10-m-Pixeln des Kachelrasters, jeweils durch 6 teilbar und zwischen 0 und 10980; das Fenster muss innerhalb der Kachel liegen.
AUTO: Sen2Cor wählt das Gebiet (Fenstergröße wie angegeben).
EXTENT: das Fenster, das eine Kartenausdehnung abdeckt.
LAYER: das Fenster, das die Polygone eines Layers (oder seine ausgewählten Polygone) abdeckt.
Ausdehnungen und Polygone werden in das Koordinatensystem der Kachel umprojiziert und auf ganze 60-m-Pixel erweitert.

Alle übrigen Parameter sind die der 'L2A-Prozessierung'.</translation>
    </message>
    <message>
        <location filename="../algorithms/roi_process.py" line="51"/>
        <source>Region of interest from</source>
        <translation>Interessensgebiet aus</translation>
    </message>
    <message>
        <location filename="../algorithms/roi_process.py" line="54"/>
        <source>Midpoint row (10 m pixels, divisible by 6)</source>
        <translation>Zeile des Mittelpunkts (10-m-Pixel, durch 6 teilbar)</translation>
    </message>
    <message>
        <location filename="../algorithms/roi_process.py" line="54"/>
        <source>Midpoint column (10 m pixels, divisible by 6)</source>
        <translation>Spalte des Mittelpunkts (10-m-Pixel, durch 6 teilbar)</translation>
    </message>
    <message>
        <location filename="../algorithms/roi_process.py" line="54"/>
        <source>Window height (10 m pixels, divisible by 6)</source>
        <translation>Fensterhöhe (10-m-Pixel, durch 6 teilbar)</translation>
    </message>
    <message>
        <location filename="../algorithms/roi_process.py" line="54"/>
        <source>Window width (10 m pixels, divisible by 6)</source>
        <translation>Fensterbreite (10-m-Pixel, durch 6 teilbar)</translation>
    </message>
    <message>
        <location filename="../algorithms/roi_process.py" line="61"/>
        <source>Map extent (mode EXTENT)</source>
        <translation>Kartenausdehnung (Modus EXTENT)</translation>
    </message>
    <message>
        <location filename="../algorithms/roi_process.py" line="63"/>
        <source>Polygon layer (mode LAYER)</source>
        <translation>Polygonlayer (Modus LAYER)</translation>
    </message>
    <message>
        <location filename="../algorithms/roi_process.py" line="146"/>
        <source>Region of interest: {0}</source>
        <translation>Interessensgebiet: {0}</translation>
    </message>
    <message>
        <location filename="../algorithms/roi_process.py" line="86"/>
        <source>Region of interest: mode EXTENT needs a map extent.</source>
        <translation>Interessensgebiet: Der Modus EXTENT braucht eine Kartenausdehnung.</translation>
    </message>
    <message>
        <location filename="../algorithms/roi_process.py" line="88"/>
        <source>Region of interest: mode LAYER needs a polygon layer.</source>
        <translation>Interessensgebiet: Der Modus LAYER braucht einen Polygonlayer.</translation>
    </message>
    <message>
        <location filename="../algorithms/roi_process.py" line="142"/>
        <source>Region of interest: AUTO (window {0} x {1} pixels)</source>
        <translation>Interessensgebiet: AUTO (Fenster {0} x {1} Pixel)</translation>
    </message>
</context>
<context>
    <name>SceneClassificationAlgorithm</name>
    <message>
        <location filename="../algorithms/scene_classification.py" line="23"/>
        <source>Scene classification only</source>
        <translation>Nur Szenenklassifikation</translation>
    </message>
    <message>
        <location filename="../algorithms/scene_classification.py" line="38"/>
        <source>Resolution</source>
        <translation>Auflösung</translation>
    </message>
    <message>
        <location filename="../algorithms/scene_classification.py" line="40"/>
        <source>Scene classification mode</source>
        <translation>Modus der Szenenklassifikation</translation>
    </message>
    <message>
        <location filename="../algorithms/scene_classification.py" line="43"/>
        <source>Write the SCL as Cloud-Optimized GeoTIFF</source>
        <translation>SCL als Cloud-Optimized GeoTIFF schreiben</translation>
    </message>
    <message>
        <location filename="../algorithms/scene_classification.py" line="26"/>
        <source>Computes only the scene classification map (SCL) of a Sentinel-2 Level-1C product, at 20 m or 60 m, as &apos;L2A_Process --sc_only&apos; does. EVOLUTION is the Sen2Cor 2.10/2.11 algorithm, CLASSIC the Sen2Cor 2.9 one (--sc_classic).

Fields left unset take the value of the GIPP files; fields with a value override them for this run. The product holds the SCL, the TOA bands and the true-colour image (TCI); SCL (with Sen2Cor&apos;s colour table) and TCI are added to the project.</source>
        <translation>Berechnet nur die Szenenklassifikation (SCL) eines Sentinel-2-Level-1C-Produkts mit 20 m oder 60 m, wie 'L2A_Process --sc_only'. EVOLUTION ist der Algorithmus von Sen2Cor 2.10/2.11, CLASSIC der von Sen2Cor 2.9 (--sc_classic).

Leere Felder übernehmen den Wert der GIPP-Dateien; Felder mit Wert überschreiben sie für diesen Lauf. Das Produkt enthält die SCL, die TOA-Bänder und das Echtfarbbild (TCI); SCL (mit der Farbtabelle von Sen2Cor) und TCI werden zum Projekt hinzugefügt.</translation>
    </message>
</context>
<context>
    <name>Sen2CorAlgorithmBase</name>
    <message>
        <location filename="../algorithms/base.py" line="119"/>
        <source>Sentinel-2 Level-2A</source>
        <translation>Sentinel-2 Level-2A</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="145"/>
        <source>Level-1C product (.SAFE folder, .zip or MTD_MSIL1C.xml)</source>
        <translation>Level-1C-Produkt (.SAFE-Ordner, .zip oder MTD_MSIL1C.xml)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="145"/>
        <source>Sentinel-2 Level-1C (MTD_MSIL1C.xml *.zip *.SAFE);;All files (*)</source>
        <translation>Sentinel-2 Level-1C (MTD_MSIL1C.xml *.zip *.SAFE);;Alle Dateien (*)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="149"/>
        <source>Output folder (not set: the folder holding the input)</source>
        <translation>Ausgabeordner (leer: der Ordner der Eingabe)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="153"/>
        <source>Image format (JP2: JPEG 2000, TIF: GeoTIFF, RAW: ENVI)</source>
        <translation>Bildformat (JP2: JPEG 2000, TIF: GeoTIFF, RAW: ENVI)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="156"/>
        <source>User configuration L2A_GIPP.xml (not set: the one in SEN2COR_HOME)</source>
        <translation>Benutzerkonfiguration L2A_GIPP.xml (leer: die in SEN2COR_HOME)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="160"/>
        <source>Load the surface-reflectance stacks into the project</source>
        <translation>Bodenreflexionsstapel in das Projekt laden</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="169"/>
        <source>Scene-classification calibration L2A_CAL_SC_GIPP.xml</source>
        <translation>Kalibrierung der Szenenklassifikation L2A_CAL_SC_GIPP.xml</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="169"/>
        <source>Atmospheric-correction calibration L2A_CAL_AC_GIPP.xml</source>
        <translation>Kalibrierung der Atmosphärenkorrektur L2A_CAL_AC_GIPP.xml</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="169"/>
        <source>Processing-baseline file L2A_PB_GIPP.xml</source>
        <translation>Datei der Prozessierungsbaseline L2A_PB_GIPP.xml</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="174"/>
        <source>Processing baseline of the output (dd.dd)</source>
        <translation>Prozessierungsbaseline der Ausgabe (dd.dd)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="177"/>
        <source>Processing centre (4 characters A-Z or _)</source>
        <translation>Prozessierungszentrum (4 Zeichen A-Z oder _)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="180"/>
        <source>Archiving centre (4 characters A-Z or _)</source>
        <translation>Archivierungszentrum (4 Zeichen A-Z oder _)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="183"/>
        <source>Work folder</source>
        <translation>Arbeitsordner</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="183"/>
        <source>Image database folder</source>
        <translation>Ordner der Bilddatenbank</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="183"/>
        <source>Result database folder</source>
        <translation>Ordner der Ergebnisdatenbank</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="188"/>
        <source>Debug log (Log_Level DEBUG)</source>
        <translation>Debug-Protokoll (Log_Level DEBUG)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="207"/>
        <source>Surface reflectance 10 m (VRT stack)</source>
        <translation>Bodenreflexion 10 m (VRT-Stapel)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="208"/>
        <source>Surface reflectance 20 m (VRT stack)</source>
        <translation>Bodenreflexion 20 m (VRT-Stapel)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="209"/>
        <source>True-colour image (TCI)</source>
        <translation>Echtfarbbild (TCI)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="210"/>
        <source>Scene classification (SCL)</source>
        <translation>Szenenklassifikation (SCL)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="211"/>
        <source>Aerosol optical thickness (AOT)</source>
        <translation>Aerosoloptische Dicke (AOT)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="212"/>
        <source>Water vapour (WVP)</source>
        <translation>Wasserdampf (WVP)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="216"/>
        <source>Level-2A product folder</source>
        <translation>Level-2A-Produktordner</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="244"/>
        <source>No Level-1C product given.</source>
        <translation>Kein Level-1C-Produkt angegeben.</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="246"/>
        <source>{path}: Level-1C product not found (expected a .SAFE folder, a .zip or MTD_MSIL1C.xml)</source>
        <translation>{path}: Level-1C-Produkt nicht gefunden (erwartet: ein .SAFE-Ordner, eine .zip-Datei oder MTD_MSIL1C.xml)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="261"/>
        <source>Processing baseline &apos;{0}&apos; must have the form dd.dd (e.g. 02.11, 99.99)</source>
        <translation>Die Prozessierungsbaseline '{0}' muss die Form dd.dd haben (z. B. 02.11, 99.99)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="266"/>
        <source>Centre &apos;{0}&apos; must be four characters A-Z or &apos;_&apos; (e.g. SGS_)</source>
        <translation>Das Zentrum '{0}' muss aus vier Zeichen A-Z oder '_' bestehen (z. B. SGS_)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="291"/>
        <source>Dialog values overriding the GIPP files: {0}</source>
        <translation>Dialogwerte, die die GIPP-Dateien überschreiben: {0}</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="298"/>
        <source>DEM_Directory={0} (provider setting)</source>
        <translation>DEM_Directory={0} (Anbietereinstellung)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="302"/>
        <source>Nr_Threads={0} (provider setting)</source>
        <translation>Nr_Threads={0} (Anbietereinstellung)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="332"/>
        <source>Provider setting &apos;{0}&apos; is not supported by this engine build; ignored</source>
        <translation>Die Anbietereinstellung '{0}' wird von dieser Prozessorversion nicht unterstützt und ignoriert</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="380"/>
        <source>Cancelled before start; nothing was written.</source>
        <translation>Vor dem Start abgebrochen; es wurde nichts geschrieben.</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="387"/>
        <source>Level-2A product: {0}</source>
        <translation>Level-2A-Produkt: {0}</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="413"/>
        <source>Not in this product: {0}</source>
        <translation>Nicht in diesem Produkt: {0}</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="433"/>
        <source>No raster layers to load into the project.</source>
        <translation>Keine Rasterlayer zum Laden in das Projekt.</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="326"/>
        <source>auxiliary-data folder</source>
        <translation>Ordner der Hilfsdaten</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="326"/>
        <source>memory cap</source>
        <translation>Speichergrenze</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="408"/>
        <source>Cannot write the {0} m reflectance stack: {1}</source>
        <translation>Der Reflexionsstapel mit {0} m kann nicht geschrieben werden: {1}</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="192"/>
        <source>Auxiliary-data folder (ESA CCI maps, GlobalSnowMap, CAMS netCDF)</source>
        <translation>Ordner für Hilfsdaten (ESA-CCI-Karten, GlobalSnowMap, CAMS-netCDF)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="195"/>
        <source>CAMS netCDF analyses (AUTO: when found, ON: required, OFF: never)</source>
        <translation>CAMS-netCDF-Analysen (AUTO: wenn vorhanden, ON: erforderlich, OFF: nie)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="198"/>
        <source>DEM download timeout (seconds without data)</source>
        <translation>Zeitlimit für DEM-Downloads (Sekunden ohne Daten)</translation>
    </message>
    <message>
        <location filename="../algorithms/base.py" line="201"/>
        <source>DEM download retries</source>
        <translation>Wiederholungen bei DEM-Downloads</translation>
    </message>
</context>
<context>
    <name>Sen2CorPlugin</name>
    <message>
        <location filename="../plugin.py" line="64"/>
        <source>The provider &apos;sen2cor&apos; is registered already.</source>
        <translation>Der Anbieter 'sen2cor' ist bereits registriert.</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="76"/>
        <source>Convert L1C to L2A…</source>
        <translation>L1C in L2A umwandeln …</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="78"/>
        <source>Open the L2A processing dialog</source>
        <translation>Dialog der L2A-Prozessierung öffnen</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="80"/>
        <source>Convert L1C to L2A in the background…</source>
        <translation>L1C im Hintergrund in L2A umwandeln …</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="82"/>
        <source>Choose a Level-1C product and process it as a background task with the GIPP settings</source>
        <translation>Ein Level-1C-Produkt wählen und mit den GIPP-Einstellungen als Hintergrundaufgabe prozessieren</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="91"/>
        <source>Sentinel-2 L2A (Sen2Cor)</source>
        <translation>Sentinel-2 L2A (Sen2Cor)</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="99"/>
        <source>Level-1C product to convert</source>
        <translation>Umzuwandelndes Level-1C-Produkt</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="99"/>
        <source>Sentinel-2 Level-1C (MTD_MSIL1C.xml *.zip)</source>
        <translation>Sentinel-2 Level-1C (MTD_MSIL1C.xml *.zip)</translation>
    </message>
</context>
<context>
    <name>Sen2CorProvider</name>
    <message>
        <location filename="../algorithms/provider.py" line="31"/>
        <source>Sentinel-2 L2A (Sen2Cor)</source>
        <translation>Sentinel-2 L2A (Sen2Cor)</translation>
    </message>
    <message>
        <location filename="../algorithms/provider.py" line="34"/>
        <source>Sentinel-2 Level-2A processor {0} (Sen2Cor 2.11 compatible)</source>
        <translation>Sentinel-2-Level-2A-Prozessor {0} (kompatibel mit Sen2Cor 2.11)</translation>
    </message>
</context>
</TS>
