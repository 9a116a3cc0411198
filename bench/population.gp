# population.gp - device page-table population time against mapping size
# (bench/run passes datafile and outfile). Columns of plot.dat: size_mib,
# then per mode: median, min, max (ms).
set terminal pngcairo size 900,600 noenhanced
set output outfile
set title "daxmirror: device page-table population (DAXMIRROR_IOC_FAULT, TCG guest, median and min-max)"
set xlabel "mapping size (MiB)"
set ylabel "population time (ms)"
set logscale xy
set xrange [10:1600]
set xtics (16, 64, 256, 1024)
set key top left
set grid
plot datafile using 1:2:3:4 with yerrorlines lw 2 title "ext4-dax 2 MiB-mapped, order-aware", \
     datafile using 1:5:6:7 with yerrorlines lw 2 title "ext4-dax 2 MiB-mapped, PER_PAGE (test_hmm style)", \
     datafile using 1:8:9:10 with yerrorlines lw 2 title "ext4-dax 4 KiB-mapped", \
     datafile using 1:11:12:13 with yerrorlines lw 1 dt 2 title "anonymous THP", \
     datafile using 1:14:15:16 with yerrorlines lw 1 dt 2 title "tmpfs page cache (4 KiB)"
